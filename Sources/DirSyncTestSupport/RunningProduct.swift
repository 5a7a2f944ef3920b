import Foundation

/// A built executable running in the background (`dirsync changes --follow`), whose stdout lines a
/// test reads as they are printed, and which the test ends with a signal.
package final class RunningProduct: Sendable {
    /// Lines printed on stdout, as they arrive; finishes when the process closes stdout.
    package let lines: AsyncStream<String>
    private let process: ProcessBox
    private let exited: AsyncStream<Int32>
    private let stderr: StderrBox

    private final class ProcessBox: @unchecked Sendable {
        // Process is not Sendable; after `run()` it is only signalled and read for its pid.
        let process: Process
        init(_ process: Process) { self.process = process }
    }

    private final class StderrBox: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)
        func finish(_ bytes: Data) { lock.withLock { data = bytes }; done.signal() }
        func text() -> String { done.wait(); done.signal(); return lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    /// Starts `product` with `arguments`; `environment` adds (or, with `nil`, removes) variables.
    package init(_ product: String, _ arguments: [String], environment: [String: String?] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ProductRunner.path(of: product))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let (exited, exit) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { finished in
            exit.yield(finished.terminationStatus)
            exit.finish()
        }
        try process.run()
        let (lines, emit) = AsyncStream.makeStream(of: String.self)
        let stdoutHandle = out.fileHandleForReading
        // Reads on its own thread: blocking pipe reads stay off the cooperative pool.
        Thread {
            var pending = Data()
            while true {
                let chunk = stdoutHandle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    emit.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
            if !pending.isEmpty { emit.yield(String(decoding: pending, as: UTF8.self)) }
            emit.finish()
        }.start()
        let stderr = StderrBox()
        let stderrHandle = err.fileHandleForReading
        Thread { stderr.finish(stderrHandle.readDataToEndOfFile()) }.start()
        self.lines = lines
        self.process = ProcessBox(process)
        self.exited = exited
        self.stderr = stderr
    }

    /// Sends `signal` to the process.
    package func send(_ signal: Int32) {
        kill(process.process.processIdentifier, signal)
    }

    /// Waits for the process to exit; returns its status and everything it printed on stderr.
    package func exit() async -> (status: Int32, stderr: String) {
        var status: Int32 = -1
        for await code in exited { status = code }
        let stderr = self.stderr
        let text = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: stderr.text()) }.start()
        }
        return (status, text)
    }

    deinit {
        if process.process.isRunning { process.process.terminate() }
    }
}
