import ArgumentParser
import Foundation
import Logging

/// Options every subcommand accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format on stderr (default: text on a terminal, json otherwise).")
    var logFormat: LogFormat?

    /// Sets up logging to stderr once per process and returns the command's logger.
    func makeLogger() -> Logger {
        let format = logFormat ?? (isatty(STDERR_FILENO) == 1 ? .text : .json)
        StderrLogHandler.bootstrapOnce(format: format, level: logLevel)
        return Logger(label: "dirsync")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// How log lines are written to stderr.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case json, text
}
