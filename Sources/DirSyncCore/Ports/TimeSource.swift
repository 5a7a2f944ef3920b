import Foundation

/// The clock and the sleep the Graph client uses, so tests can run a 429 storm in no time.
public protocol TimeSource: Sendable {
    /// The current wall-clock time.
    func now() -> Date
    /// Suspends the calling task for `seconds` (cancellation ends the sleep early by throwing).
    func sleep(seconds: TimeInterval) async throws
}

/// The real clock: `Date()` and `Task.sleep`.
public struct SystemTimeSource: TimeSource {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(seconds: TimeInterval) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(nanoseconds: UInt64(min(seconds, 86_400) * 1_000_000_000))
    }
}
