import Dispatch
import Foundation
import Synchronization

/// What happened, in order, for tests to wait on instead of on time.
///
/// Code under test (or a double standing in for its collaborators) records events; a test waits
/// until the events so far satisfy a condition. Every wait is bounded, but the bound is a guard
/// against a broken implementation that would otherwise hang the suite: it is minutes, never the
/// expected duration of anything, and a wait that reaches it fails.
package final class EventLog<Event: Sendable>: Sendable {
    private struct Waiter {
        var id: Int
        var condition: @Sendable ([Event]) -> Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var events: [Event] = []
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let state = Mutex(State())
    /// Wakes threads blocked in ``waitBlocking(until:timeout:)``.
    private let condition = NSCondition()

    package init() {}

    /// The events so far, in the order they were recorded.
    package var events: [Event] { state.withLock { $0.events } }

    /// Appends `event` and wakes every waiter whose condition now holds.
    package func record(_ event: Event) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.events.append(event)
            let events = state.events
            var ready: [CheckedContinuation<Void, any Error>] = []
            state.waiters.removeAll { waiter in
                guard waiter.condition(events) else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Suspends until `condition` holds for the events recorded so far (at once if it already does).
    /// - Parameters:
    ///   - what: the awaited event in words, for the failure message.
    ///   - timeout: a guard against a hang; reaching it means the awaited event never came.
    /// - Throws: ``EventTimeout`` when the guard fires, `CancellationError` when the task is cancelled.
    package func wait(for what: String, timeout: Duration = .defaultEventTimeout,
                      until condition: @escaping @Sendable ([Event]) -> Bool) async throws {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let satisfied = state.withLock { state -> Bool in
                    if condition(state.events) { return true }
                    state.waiters.append(Waiter(id: id, condition: condition, continuation: continuation))
                    return false
                }
                if satisfied {
                    continuation.resume()
                    return
                }
                // Cancelled before the waiter was registered: the handler found nothing to end.
                if Task.isCancelled { fail(id, with: CancellationError()) }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout.timeInterval) { [self] in
                    fail(id, with: EventTimeout(what: what, timeout: timeout))
                }
            }
        } onCancel: {
            fail(id, with: CancellationError())
        }
    }

    /// Blocks the calling thread until `condition` holds, for code that cannot suspend (a request
    /// handler on a thread of its own, a synchronous callback of the code under test).
    /// - Returns: `false` when the guard `timeout` was reached first.
    @discardableResult
    package func waitBlocking(timeout: Duration = .defaultEventTimeout, until predicate: ([Event]) -> Bool) -> Bool {
        let giveUp = Date().addingTimeInterval(timeout.timeInterval)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(events) {
            if !condition.wait(until: giveUp) { return predicate(events) }
        }
        return true
    }

    private func fail(_ id: Int, with error: any Error) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        continuation?.resume(throwing: error)
    }
}

extension EventLog {
    /// Suspends until at least `count` events satisfy `matching`.
    package func wait(for what: String, count: Int = 1, timeout: Duration = .defaultEventTimeout,
                      matching: @escaping @Sendable (Event) -> Bool) async throws {
        try await wait(for: what, timeout: timeout) { events in events.lazy.filter(matching).count >= count }
    }
}

extension EventLog where Event: Equatable {
    /// Suspends until `event` has been recorded (`count` times).
    package func wait(for event: Event, count: Int = 1, timeout: Duration = .defaultEventTimeout) async throws {
        try await wait(for: "\(event)", count: count, timeout: timeout) { $0 == event }
    }

    /// How many times `event` was recorded.
    package func count(of event: Event) -> Int { events.lazy.filter { $0 == event }.count }
}

/// A one-way gate: closed until ``open()``, then open for good.
package final class Gate: Sendable {
    private let log = EventLog<Bool>()

    package init() {}

    /// Opens the gate and lets every waiter through.
    package func open() { log.record(true) }

    /// Whether ``open()`` was called.
    package var isOpen: Bool { !log.events.isEmpty }

    /// Suspends until the gate opens.
    package func wait(for what: String, timeout: Duration = .defaultEventTimeout) async throws {
        try await log.wait(for: what, timeout: timeout) { !$0.isEmpty }
    }

    /// Blocks the calling thread until the gate opens; `false` when the guard `timeout` came first.
    @discardableResult
    package func waitBlocking(timeout: Duration = .defaultEventTimeout) -> Bool {
        log.waitBlocking(timeout: timeout) { !$0.isEmpty }
    }
}

/// A wait for an event reached its guard: the event never came.
package struct EventTimeout: Error, CustomStringConvertible {
    package var what: String
    package var timeout: Duration

    package init(what: String, timeout: Duration) {
        self.what = what
        self.timeout = timeout
    }

    package var description: String { "gave up waiting for \(what) after \(timeout): it never happened" }
}

extension Duration {
    /// The guard on waits for events: long enough that only a hang reaches it, on a loaded machine.
    package static var defaultEventTimeout: Duration { .seconds(300) }

    /// The duration in seconds.
    package var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
