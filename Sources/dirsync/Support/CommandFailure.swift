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
    static func isOwn(_ error: any Error) -> Bool {
        error is CommandFailure || error is PostgresError || error is MigrationError || error is CancellationError || error is DomainName.Invalid
    }

    static func classify(_ error: any Error) -> (ExitStatus, String) {
        switch error {
        case let failure as CommandFailure:
            return (failure.status, oneLine(failure.message))
        case let error as PostgresError:
            return (error.code == .invalidConnectionString ? .usage : .failure, oneLine(error.description))
        case let error as MigrationError:
            return (.failure, oneLine(error.description))
        case let error as DomainName.Invalid:
            return (.usage, oneLine(error.description))
        case let error as ExitCode:
            return (error.rawValue == 0 ? .success : .failure, "exit \(error.rawValue)")
        case is CancellationError:
            return (.failure, "interrupted")
        default:
            return (.failure, oneLine(String(describing: error)))
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
