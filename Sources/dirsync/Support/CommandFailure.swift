import ArgumentParser
import DirSyncCore
import Foundation
import PostgresStore

/// dirsync's documented exit codes.
enum ExitStatus: Int32 {
    /// Everything succeeded (or was skipped because another run holds it).
    case success = 0
    /// A command or a tenant's sync failed.
    case failure = 1
    /// Bad flags, environment or configuration.
    case usage = 2
    /// A sync was halted by the deletion guard.
    case halted = 3
}

/// An error a command raises with its exit status and a message already worded for operators.
struct CommandFailure: Error, CustomStringConvertible {
    var status: ExitStatus
    var message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    /// A configuration problem: names the setting and the fix; exits 2.
    static func configuration(_ message: String) -> CommandFailure { CommandFailure(.usage, message) }

    var description: String { message }

    /// Prints one line for `error` on stderr and returns the exit status to use.
    static func report(_ error: any Error) -> ExitStatus {
        let (status, message) = classify(error)
        FileHandle.standardError.write(Data("dirsync: error: \(message)\n".utf8))
        return status
    }

    /// Whether `error` is one dirsync words itself (as opposed to ArgumentParser's help and usage errors).
    static func isOwn(_ error: any Error) -> Bool { own(error) != nil }

    static func classify(_ error: any Error) -> (ExitStatus, String) {
        if let own = own(error) { return own }
        if let exit = error as? ExitCode { return (exit.rawValue == 0 ? .success : .failure, "exit \(exit.rawValue)") }
        return (.failure, oneLine(String(describing: error)))
    }

    /// Status and one-line message for the errors dirsync raises itself; `nil` for any other error.
    private static func own(_ error: any Error) -> (ExitStatus, String)? {
        switch error {
        case let failure as CommandFailure: (failure.status, oneLine(failure.message))
        case let error as PostgresError: (error.code == .invalidConnectionString ? .usage : .failure, oneLine(error.description))
        case let error as MigrationError: (.usage, oneLine(error.description))  // the history and this build disagree: no retry fixes it
        case let error as DomainName.Invalid: (.usage, oneLine(error.description))
        case is CancellationError: (.failure, "interrupted")
        default: nil
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
