import ArgumentParser
import Foundation

/// The `dirsync` command: keeps a PostgreSQL copy of Microsoft Entra ID directories fresh.
struct DirSync: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dirsync",
        abstract: "Keep a PostgreSQL copy of Microsoft Entra ID directories fresh with Microsoft Graph delta queries.",
        discussion: """
            Configuration comes from the environment (see README.md): DATABASE_URL (or libpq's PG* \
            variables), AZURE_CLIENT_ID with AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or \
            AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and DIRSYNC_GRAPH_URL.

            Exit codes: 0 success (or nothing to do), 1 a sync or command failed, 2 usage or \
            configuration error, 3 halted by the deletion guard.
            """,
        version: version,
        subcommands: [MigrateCommand.self, DomainsCommand.self, RunCommand.self, StatusCommand.self, ResolveCommand.self, ChangesCommand.self]
    )
}

/// Entry point: parses, runs, and turns every error into one line on stderr and a documented exit code.
@main
enum DirSyncMain {
    static func main() async {
        AllocatorTuning.apply(.current())
        let command: any ParsableCommand
        do {
            command = try DirSync.parseAsRoot()
        } catch {
            // Help, version, and usage errors: ArgumentParser prints them; usage errors exit 2.
            let code = DirSync.exitCode(for: error)
            if code == .success { DirSync.exit(withError: error) }
            FileHandle.standardError.write(Data((DirSync.fullMessage(for: error) + "\n").utf8))
            exit(ExitStatus.usage.rawValue)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
            exit(ExitStatus.success.rawValue)
        } catch {
            if CommandFailure.isOwn(error) { exit(CommandFailure.report(error).rawValue) }
            // ArgumentParser's own outcomes (help, version, validation) keep its wording.
            let code = DirSync.exitCode(for: error)
            if code == .success { DirSync.exit(withError: error) }
            if code == .validationFailure {
                FileHandle.standardError.write(Data((DirSync.fullMessage(for: error) + "\n").utf8))
                exit(ExitStatus.usage.rawValue)
            }
            exit(CommandFailure.report(error).rawValue)
        }
    }
}
