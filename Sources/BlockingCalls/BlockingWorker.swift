import Foundation
import Synchronization

/// A dedicated operating-system thread that runs blocking work in submission order.
///
/// libcurl's `curl_easy_perform` and libpq's `PQexecParams` block their calling thread until the
/// network answers. Swift's cooperative pool has one thread per core (two on the machines dirsync
/// runs on), so a blocking call there stalls every other task. Each C handle is therefore owned by one
/// `BlockingWorker`; async callers reach it through ``run(_:)``, which parks the caller on a
/// continuation, not on a thread.
///
/// Jobs run one at a time, in order, on the same thread, so a non-`Sendable` C handle confined to a
/// worker is never touched by two threads at once.
public final class BlockingWorker: Sendable {
    private struct State: ~Copyable {
        var jobs: [@Sendable () -> Void] = []
        var stopping = false
    }

    private let state = Mutex(State())
    private let wakeUp = NSCondition()
    private let name: String

    /// Starts the worker thread.
    /// - Parameter name: the thread's name, shown by debuggers and `ps -T`.
    public init(name: String) {
        self.name = name
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        // The thread holds `self` strongly while it runs, so deinit only happens after `shutdown()`
        // let the loop end.
    }

    /// Runs `body` on the worker thread and returns its result to the awaiting task.
    ///
    /// - Parameter body: the blocking work. It may throw; the error is rethrown to the caller.
    /// - Returns: whatever `body` returns.
    /// - Throws: `body`'s error, or ``BlockingWorkerError/stopped`` when the worker was shut down.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job: @Sendable () -> Void = {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.jobs.append(job)
                return true
            }
            guard accepted else {
                continuation.resume(throwing: BlockingWorkerError.stopped(name))
                return
            }
            wakeUp.lock(); wakeUp.signal(); wakeUp.unlock()
        }
    }

    /// Finishes the jobs already queued, then ends the thread. Later calls to ``run(_:)`` throw.
    public func shutdown() {
        state.withLock { $0.stopping = true }
        wakeUp.lock(); wakeUp.broadcast(); wakeUp.unlock()
    }

    private func loop() {
        while true {
            wakeUp.lock()
            var next: (job: (@Sendable () -> Void)?, stop: Bool) = (nil, false)
            while true {
                next = state.withLock { state in
                    if !state.jobs.isEmpty { return (state.jobs.removeFirst(), false) }
                    return (nil, state.stopping)
                }
                if next.job != nil || next.stop { break }
                wakeUp.wait()
            }
            wakeUp.unlock()
            guard let job = next.job else { return }
            job()
        }
    }
}

/// Errors raised by ``BlockingWorker`` itself.
public enum BlockingWorkerError: Error, CustomStringConvertible, Sendable {
    /// Work was submitted after ``BlockingWorker/shutdown()``.
    case stopped(String)

    public var description: String {
        switch self {
        case .stopped(let name): "worker thread '\(name)' was already shut down"
        }
    }
}
