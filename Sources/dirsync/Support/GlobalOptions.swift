import DirSyncCore
import ArgumentParser
import Foundation
import Logging

/// Options every subcommand accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format on stderr (default: text on a terminal, json otherwise).")
    var logFormat: LogFormat?

    /// The instant commands take as "now"; tests age a status with it instead of waiting.
    @Option(name: .long, help: .hidden)
    var now: String?

    func validate() throws {
        if let now, Self.instant(now) == nil { throw ValidationError("--now '\(now)' is not an ISO 8601 instant like 2026-01-31T12:00:00Z") }
    }

    /// Sets up logging to stderr once per process and returns the command's logger.
    func makeLogger() -> Logger {
        let format = logFormat ?? (isatty(STDERR_FILENO) == 1 ? .text : .json)
        StderrLogHandler.bootstrapOnce(format: format, level: logLevel)
        return Logger(label: "dirsync")
    }

    /// The command's configuration from the environment and these flags; a bad setting exits 2.
    /// - Parameters:
    ///   - cloud: `--cloud`, for commands that talk to Microsoft.
    ///   - clientID: `--client-id`, for commands that take one.
    func configuration(cloud: String? = nil, clientID: String? = nil, userProperties: String? = nil, groupProperties: String? = nil) throws -> Configuration {
        do {
            return try Configuration(environment: .current(), overrides: .init(cloud: cloud, clientID: clientID, now: now.flatMap(Self.instant),
                                                                               userProperties: userProperties, groupProperties: groupProperties))
        } catch {
            throw CommandFailure.configuration(error.description)
        }
    }

    private static func instant(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// How log lines are written to stderr.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case json, text
}
extension FirstLoadSetting: ExpressibleByArgument {}
