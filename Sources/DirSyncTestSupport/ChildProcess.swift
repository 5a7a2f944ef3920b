import DirSyncTestDoubles
import Dispatch
import Foundation
import Synchronization

/// A child process a test started, whose output lines and exit are events to wait on (never polled).
///
/// Standard output and standard error are drained on threads of their own, so a chatty child never
/// blocks on a full pipe; each complete line is recorded as it arrives.
package final class ChildProcess: Sendable {
    /// How a child ended.
    package struct Termination: Sendable, Equatable {
        /// The exit code, or the signal number when ``signalled``.
        package var status: Int32
        /// Whether a signal ended it.
        package var signalled: Bool
    }

    package struct Failed: Error, CustomStringConvertible {
        package var description: String
    }

    /// The child's process id.
    package let processIdentifier: Int32
    /// What the command line was, for messages.
    package let commandLine: String
    private let stdoutLines = EventLog<String>()
    private let stderrLines = EventLog<String>()
    private let stdoutText = OutputBuffer()
    private let stderrText = OutputBuffer()
    /// The exit (one event), and the end of each captured stream (one event each).
    private let ends = EventLog<End>()
    private let capturesStandardError: Bool
    private let box: ProcessBox

    private enum End: Sendable, Equatable {
        case exited(Termination)
        case standardOutputClosed
        case standardErrorClosed
    }

    private final class ProcessBox: @unchecked Sendable {
        // Process is not Sendable; it is configured and started in init, then only signalled.
        let process: Process
        init(_ process: Process) { self.process = process }
    }

    /// Starts `executable`.
    /// - Parameters:
    ///   - environment: the child's whole environment (the test's own when `nil`).
    ///   - captureStandardError: `false` sends standard error to `/dev/null`.
    package init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                 currentDirectory: URL? = nil, captureStandardError: Bool = true) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = captureStandardError ? err : FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let ends = ends
        process.terminationHandler = { process in
            ends.record(.exited(Termination(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal)))
        }
        commandLine = ([URL(fileURLWithPath: executable).lastPathComponent] + arguments).joined(separator: " ")
        capturesStandardError = captureStandardError
        box = ProcessBox(process)
        try Self.launch(process)
        processIdentifier = process.processIdentifier
        Self.drain(out.fileHandleForReading, into: stdoutText, lines: stdoutLines, closed: .standardOutputClosed, ends: ends)
        if captureStandardError {
            Self.drain(err.fileHandleForReading, into: stderrText, lines: stderrLines, closed: .standardErrorClosed, ends: ends)
        }
    }

    /// Everything the child wrote to standard output so far.
    package var standardOutput: String { stdoutText.text }
    /// Everything the child wrote to standard error so far (empty when not captured).
    package var standardError: String { stderrText.text }

    /// The exit, once it happened.
    package var termination: Termination? {
        for case .exited(let termination) in ends.events { return termination }
        return nil
    }

    /// Sends `signal` (SIGTERM, SIGKILL, …) to the child, unless it already exited.
    package func send(_ signal: Int32) {
        if termination == nil { kill(processIdentifier, signal) }
    }

    /// Waits until the child exits and its captured output has been read to the end.
    /// - Parameter timeout: a guard against a hang; when it fires the child is killed and this throws.
    @discardableResult
    package func exit(timeout: Duration = .defaultEventTimeout) async throws -> Termination {
        let streams = capturesStandardError ? 3 : 2
        do {
            try await ends.wait(for: "\(commandLine) to exit", timeout: timeout) { $0.count == streams }
        } catch let error as EventTimeout {
            send(SIGKILL)
            throw error
        }
        return termination!
    }

    /// Waits for the first line of standard output that satisfies `matching`, and returns it.
    /// - Throws: ``Failed`` when the child exits first, ``EventTimeout`` when the guard fires.
    package func outputLine(_ what: String, timeout: Duration = .defaultEventTimeout,
                            matching: @escaping @Sendable (String) -> Bool) async throws -> String {
        try await firstLine(in: stdoutLines, what, timeout: timeout, matching: matching)
    }

    /// Waits for the first line of standard error that satisfies `matching`, and returns it.
    package func errorLine(_ what: String, timeout: Duration = .defaultEventTimeout,
                           matching: @escaping @Sendable (String) -> Bool) async throws -> String {
        try await firstLine(in: stderrLines, what, timeout: timeout, matching: matching)
    }

    private func firstLine(in lines: EventLog<String>, _ what: String, timeout: Duration,
                           matching: @escaping @Sendable (String) -> Bool) async throws -> String {
        // The line, or the end of the stream it would be on: whichever comes first.
        let closed = ends
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await lines.wait(for: what, timeout: timeout, matching: matching) }
            group.addTask {
                try await closed.wait(for: "\(what) or the end of \(self.commandLine)", timeout: timeout) { ends in
                    ends.contains { if case .exited = $0 { return true } else { return false } }
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
        if let line = lines.events.first(where: matching) { return line }
        // The child exited; its last lines may still be on their way.
        try await exit(timeout: timeout)
        if let line = lines.events.first(where: matching) { return line }
        throw Failed(description: "\(commandLine) exited (\(termination.map { "\($0)" } ?? "?")) before \(what): \(standardError.suffix(800))")
    }

    /// Starts `process` from a thread of its own whose signal mask is empty.
    ///
    /// A child inherits the signal mask of the thread that spawns it, and the threads of Swift's
    /// cooperative pool block most signals: started from one, a child would hold SIGTERM pending
    /// forever unless it unblocks it itself. From this thread it starts as it would from a shell.
    private static func launch(_ process: Process) throws {
        let box = ProcessBox(process)
        let result = Mutex<(any Error)?>(nil)
        let launched = DispatchSemaphore(value: 0)
        let thread = Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do { try box.process.run() } catch { result.withLock { $0 = error } }
            launched.signal()
        }
        thread.start()
        launched.wait()
        if let error = result.withLock({ $0 }) { throw error }
    }

    /// Reads `handle` to its end on a thread of its own.
    private static func drain(_ handle: FileHandle, into buffer: OutputBuffer, lines: EventLog<String>, closed: End, ends: EventLog<End>) {
        let thread = Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    lines.record(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
            if !pending.isEmpty { lines.record(String(decoding: pending, as: UTF8.self)) }
            try? handle.close()
            ends.record(closed)
        }
        thread.start()
    }
}

/// Bytes a child wrote, collected from its reader thread.
private final class OutputBuffer: @unchecked Sendable {
    // @unchecked: `data` is behind `lock`.
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
