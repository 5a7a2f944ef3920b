import DirSyncTestSupport
import Foundation
import Testing

/// Bad flags, environment, domain names, GUIDs and database URLs, each through the built binary.
///
/// "One clear line" means: for errors dirsync words itself, stderr holds exactly one line,
/// `dirsync: error: …`, naming the setting and the fix. For command-line usage errors, ArgumentParser's
/// block is kept: its first line (`Error: …`) names the problem, and the block ends by pointing at
/// `--help`, which is the fix. Exit codes are the documented ones: 2 usage or configuration, 1 failure.
/// No database or simulator is needed: every case fails before reaching one, or fails to reach one.
@Suite("bad flags, environment, domains, GUIDs and database URLs get one clear line and the documented exit code", .serialized)
struct BadInputTests {
    /// One row of the table.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var arguments: [String]
        var environment: [String: String?] = [:]
        var exitCode: Int32
        /// Words the first stderr line must contain (case-insensitive).
        var mentions: [String]
        /// ArgumentParser's usage block rather than dirsync's one line.
        var usageBlock = false
        /// Whether to pass `--log-format json` (only subcommands accept it).
        var logFormat = true

        var testDescription: String { name }
    }

    static let clientID = "11111111-2222-3333-4444-555555555555"
    static let unreachableDatabase = "host=127.0.0.1 port=9 user=dirsync dbname=dirsync connect_timeout=3"

    /// A complete, valid environment that reaches nothing (port 9 refuses connections).
    static let baseEnvironment: [String: String?] = [
        "DATABASE_URL": unreachableDatabase, "DIRSYNC_GRAPH_URL": "http://127.0.0.1:9", "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9",
        "AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_SECRET": "bad-input-test-secret", "AZURE_CLIENT_CERTIFICATE_PATH": nil,
        "AZURE_FEDERATED_TOKEN_FILE": nil, "AZURE_TENANT_ID": nil, "DIRSYNC_CLOUD": nil, "PGHOST": nil, "PGPORT": nil,
        "PGUSER": nil, "PGDATABASE": nil, "PGPASSWORD": nil, "PGSERVICE": nil,
    ]

    static let cases: [Case] = [
        // Flags (ArgumentParser usage errors and validate()).
        Case(name: "run --concurrency 0", arguments: ["run", "--concurrency", "0"], exitCode: 2, mentions: ["--concurrency"], usageBlock: true),
        Case(name: "run --concurrency many", arguments: ["run", "--concurrency", "many"], exitCode: 2, mentions: ["--concurrency"], usageBlock: true),
        Case(name: "run --max-deletions -1", arguments: ["run", "--max-deletions", "-1"], exitCode: 2, mentions: ["--max-deletions"], usageBlock: true),
        Case(name: "run --no-such-flag", arguments: ["run", "--no-such-flag"], exitCode: 2, mentions: ["--no-such-flag"], usageBlock: true),
        Case(name: "run --log-level loud", arguments: ["run", "--log-level", "loud"], exitCode: 2, mentions: ["--log-level"], usageBlock: true),
        Case(name: "status --max-age soon", arguments: ["status", "--max-age", "soon"], exitCode: 2, mentions: ["--max-age"], usageBlock: true),
        Case(name: "status --format xml", arguments: ["status", "--format", "xml"], exitCode: 2, mentions: ["--format"], usageBlock: true),
        Case(name: "unknown subcommand", arguments: ["synchronise"], exitCode: 2, mentions: ["synchronise"], usageBlock: true, logFormat: false),
        // Domain names and GUIDs.
        Case(name: "domains add 'bad domain'", arguments: ["domains", "add", "bad domain", "--tenant-id", clientID], exitCode: 2, mentions: ["bad domain"], usageBlock: true),
        Case(name: "domains add with a URL for a domain", arguments: ["domains", "add", "https://contoso.com/", "--tenant-id", clientID], exitCode: 2,
             mentions: ["contoso.com"], usageBlock: true),
        Case(name: "domains add --tenant-id not-a-guid", arguments: ["domains", "add", "contoso.com", "--tenant-id", "not-a-guid"], exitCode: 2,
             mentions: ["--tenant-id", "not-a-guid"], usageBlock: true),
        Case(name: "domains add --client-id not-a-guid", arguments: ["domains", "add", "contoso.com", "--tenant-id", clientID, "--client-id", "42"], exitCode: 2,
             mentions: ["--client-id"], usageBlock: true),
        Case(name: "run --domain 'not a domain'", arguments: ["run", "--domain", "not a domain"], exitCode: 2, mentions: ["not a domain"], usageBlock: true),
        // Graph environment.
        Case(name: "AZURE_CLIENT_ID missing", arguments: ["run"], environment: ["AZURE_CLIENT_ID": nil], exitCode: 2, mentions: ["AZURE_CLIENT_ID"]),
        Case(name: "AZURE_CLIENT_ID malformed", arguments: ["run"], environment: ["AZURE_CLIENT_ID": "my-app"], exitCode: 2, mentions: ["AZURE_CLIENT_ID", "GUID"]),
        Case(name: "no credential", arguments: ["run"], environment: ["AZURE_CLIENT_SECRET": nil], exitCode: 2, mentions: ["credential"]),
        Case(name: "DIRSYNC_GRAPH_URL=ftp://x", arguments: ["run"], environment: ["DIRSYNC_GRAPH_URL": "ftp://x"], exitCode: 2, mentions: ["DIRSYNC_GRAPH_URL"]),
        Case(name: "AZURE_AUTHORITY_HOST not a URL", arguments: ["run"], environment: ["AZURE_AUTHORITY_HOST": "login"], exitCode: 2, mentions: ["AZURE_AUTHORITY_HOST"]),
        Case(name: "DIRSYNC_CLOUD=mars", arguments: ["run"], environment: ["DIRSYNC_CLOUD": "mars", "DIRSYNC_GRAPH_URL": nil, "AZURE_AUTHORITY_HOST": nil],
             exitCode: 2, mentions: ["DIRSYNC_CLOUD"]),
        Case(name: "run --cloud mars", arguments: ["run", "--cloud", "mars"], environment: ["DIRSYNC_GRAPH_URL": nil, "AZURE_AUTHORITY_HOST": nil],
             exitCode: 2, mentions: ["--cloud", "mars"], usageBlock: true),
        Case(name: "AZURE_CLIENT_CERTIFICATE_PATH to a missing file", arguments: ["run"],
             environment: ["AZURE_CLIENT_SECRET": nil, "AZURE_CLIENT_CERTIFICATE_PATH": "/nonexistent/dirsync-test.pem"], exitCode: 2,
             mentions: ["/nonexistent/dirsync-test.pem"]),
        // Database URLs.
        Case(name: "DATABASE_URL with a non-numeric port", arguments: ["status"], environment: ["DATABASE_URL": "postgresql://u@127.0.0.1:notaport/db"],
             exitCode: 2, mentions: ["DATABASE_URL"]),
        Case(name: "DATABASE_URL with an unknown keyword", arguments: ["migrate"], environment: ["DATABASE_URL": "hostname=localhost"],
             exitCode: 2, mentions: ["DATABASE_URL"]),
        Case(name: "DATABASE_URL with an unknown scheme", arguments: ["domains", "list"], environment: ["DATABASE_URL": "mysql://u@127.0.0.1/db"],
             exitCode: 2, mentions: ["DATABASE_URL"]),
        Case(name: "DATABASE_URL unreachable (run)", arguments: ["run"], exitCode: 1, mentions: ["127.0.0.1"]),
        Case(name: "DATABASE_URL unreachable (status)", arguments: ["status"], exitCode: 1, mentions: ["127.0.0.1"]),
        Case(name: "DATABASE_URL unreachable (migrate)", arguments: ["migrate"], exitCode: 1, mentions: ["127.0.0.1"]),
        Case(name: "DATABASE_URL to a missing socket directory", arguments: ["domains", "list"],
             environment: ["DATABASE_URL": "host=/nonexistent/pg-socket port=5432 user=u dbname=d"], exitCode: 1, mentions: ["/nonexistent/pg-socket"]),
    ]

    @Test("each bad input exits with its documented code and one line naming the problem", arguments: cases)
    func badInput(_ badCase: Case) async throws {
        var environment = Self.baseEnvironment
        for (key, value) in badCase.environment { environment[key] = value }
        let outcome = try await ProductRunner.run("dirsync", badCase.arguments + (badCase.logFormat ? ["--log-format", "json"] : []), environment: environment)
        let lines = outcome.stderrLines
        #expect(outcome.exitCode == badCase.exitCode, "\(badCase.name): exit \(outcome.exitCode)\n\(outcome.stderr)")
        let first = lines.first ?? ""
        for word in badCase.mentions {
            #expect(first.lowercased().contains(word.lowercased()), "\(badCase.name): the first line should name \(word): \(first)")
        }
        if badCase.usageBlock {
            #expect(first.hasPrefix("Error: "), "\(badCase.name): \(outcome.stderr)")
            // The block may list the accepted values; it stays short and ends by pointing at --help.
            #expect(lines.count <= 14 && (lines.last ?? "").contains("--help"), "\(badCase.name): the usage block should end with the pointer to --help:\n\(outcome.stderr)")
        } else {
            #expect(lines.count == 1, "\(badCase.name): expected exactly one stderr line, got \(lines.count):\n\(outcome.stderr)")
            #expect(first.hasPrefix("dirsync: error: "), "\(badCase.name): \(first)")
            #expect(first.count < 400, "\(badCase.name): one short line, not a dump: \(first)")
        }
        #expect(!outcome.stderr.contains("bad-input-test-secret") && !outcome.stdout.contains("bad-input-test-secret"))
    }
}
