import ArgumentParser
import DirSyncCore
import Foundation
import GraphHTTP
import Logging
import PostgresStore

extension DomainsCommand {
    /// `dirsync domains check DOMAIN…`: the onboarding preflight.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check that domains are ready to sync: tenant, token, admin consent, verified domain, each permission.",
            discussion: """
                Writes no directory rows. Each permission is probed with the cheapest Graph request that \
                needs it (one object, its id only), and the token's roles show exactly what was granted. \
                Prints one line per check (✓ passed, ✗ failed with the fix, – not checked) and exits 1 \
                when any check fails. For onboarded domains the result is recorded (when DATABASE_URL is \
                set), so dirsync status shows "awaiting consent" or "permission missing: …" before the \
                first sync.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var graph: GraphOptions

        @Argument(help: "The domains to check; they need not be onboarded yet.")
        var domains: [String]

        @Option(name: .long, help: "The Entra tenant id (GUID) of the domains, when it cannot be discovered yet.")
        var tenantID: String?

        @Option(name: .long, help: "The app registration's client id (GUID), if not the domain's or AZURE_CLIENT_ID.")
        var clientID: String?

        @Option(name: .long, help: "Output format: table (text) or json.")
        var format: OutputFormat = .table

        func validate() throws {
            guard !domains.isEmpty else { throw ValidationError("name at least one domain") }
            for domain in domains { do { _ = try DomainName.normalize(domain) } catch { throw ValidationError(error.description) } }
            if let tenantID, UUID(uuidString: tenantID) == nil { throw ValidationError("--tenant-id '\(tenantID)' is not a GUID (like 72f988bf-86f1-41af-91ab-2d7cd011db47)") }
            if let clientID, UUID(uuidString: clientID) == nil { throw ValidationError("--client-id '\(clientID)' is not a GUID (like 11111111-2222-3333-4444-555555555555)") }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let names = try domains.map(DomainName.normalize)
            let runtime = try graph.runtime(logger: logger)
            let checker = DomainChecker(client: runtime.client, tokens: runtime.tokens, logger: logger)
            let environment = ProcessInfo.processInfo.environment
            let connection: PostgresConnection? = if let url = environment["DATABASE_URL"], !url.isEmpty {
                try await Database.connect(environment: environment, logger: logger)
            } else {
                nil
            }
            defer { if let connection { Task { await connection.close() } } }
            let store = connection.map(PostgresDomainStore.init(connection:))
            let checks = connection.map(PostgresDomainChecks.init(connection:))

            var results: [(report: DomainCheckReport, recorded: Bool)] = []
            for name in names {
                let record = try await store?.find(name)
                let tenant: (UUID, TenantSource)? = if let tenantID, let id = UUID(uuidString: tenantID) {
                    (id, .option)
                } else if let record {
                    (record.tenantID, .onboarded)
                } else {
                    nil
                }
                let client = clientID?.lowercased() ?? record?.clientID?.uuidString.lowercased() ?? runtime.configuration.clientID
                let facts = await checker.facts(domain: name, tenant: tenant, clientID: client) { tenant in
                    AdminConsentLink(clientID: client, tenant: tenant, endpoints: runtime.configuration.endpoints, state: AdminConsentLink.randomState()).url
                }
                let report = DomainCheckReport.evaluate(facts)
                var recorded = false
                if let checks, record != nil, let tenant = report.tenantID ?? record?.tenantID {
                    recorded = try await checks.record(report, tenantID: tenant)
                }
                results.append((report, recorded))
            }

            switch format {
            case .table: print(Self.text(results, databaseConfigured: connection != nil))
            case .json: print(try Self.json(results))
            }
            let failed = results.filter { !$0.report.ok }.map(\.report.domain)
            if !failed.isEmpty {
                throw CommandFailure(.failure, "\(failed.count) of \(results.count) domain(s) not ready to sync: \(failed.joined(separator: ", ")); the lines marked ✗ say what to fix")
            }
        }

        static func text(_ results: [(report: DomainCheckReport, recorded: Bool)], databaseConfigured: Bool) -> String {
            var lines: [String] = []
            let width = (["consent", "domain"] + GraphPermission.allCases.map(\.rawValue)).map(\.count).max() ?? 0
            for (report, recorded) in results {
                if !lines.isEmpty { lines.append("") }
                lines.append("\(report.domain): \(report.ok ? "ready to sync" : "not ready")")
                for line in report.lines {
                    var text = "  \(line.outcome.symbol) \(line.check.padding(toLength: width, withPad: " ", startingAt: 0))  \(line.detail)"
                    if let fix = line.fix { text += ". Fix: \(fix)" }
                    lines.append(text)
                }
                if recorded {
                    let shown = report.consentMissing ? "\"awaiting consent\""
                        : !report.missingPermissions.isEmpty ? "\"permission missing: \(report.missingPermissions.map(\.rawValue).joined(separator: ", "))\""
                        : report.statusMessage.map { "\"\($0.prefix { $0 != ":" })\"" } ?? "it as ready"
                    lines.append("  recorded: dirsync status shows \(shown)")
                } else if databaseConfigured {
                    lines.append("  not recorded: \(report.domain) is not onboarded (dirsync domains add \(report.domain))")
                }
            }
            return lines.joined(separator: "\n")
        }

        static func json(_ results: [(report: DomainCheckReport, recorded: Bool)]) throws -> String {
            let items: [[String: Any]] = results.map { report, recorded in
                [
                    "domain": report.domain, "tenant_id": report.tenantID.map { $0.uuidString.lowercased() } as Any? ?? NSNull(),
                    "ok": report.ok, "consent_missing": report.consentMissing,
                    "missing_permissions": report.missingPermissions.map(\.rawValue),
                    "domain_verified": report.domainVerified as Any? ?? NSNull(),
                    "consent_url": report.consentURL as Any? ?? NSNull(), "message": report.statusMessage as Any? ?? NSNull(),
                    "recorded": recorded,
                    "checks": report.lines.map { line in
                        ["check": line.check, "outcome": line.outcome.rawValue, "detail": line.detail, "fix": line.fix as Any? ?? NSNull()]
                    },
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }
    }
}
