import Foundation
import Logging

/// The result of one attempt inside a ``RetryLoop``.
enum AttemptResult<Value: Sendable>: Sendable {
    /// Done.
    case success(Value)
    /// Failed; the policy decides whether to wait and retry. The error is thrown if not.
    case failure(AttemptOutcome, GraphError)
    /// Try again at once (after a token refresh); does not consult the policy.
    case retryNow
}

/// Runs attempts until one succeeds, the policy gives up, or the deadline would pass.
struct RetryLoop: Sendable {
    let policy: RetryPolicy
    let time: any TimeSource
    let deadline: Date?
    let random: @Sendable () -> Double
    let logger: Logger

    /// - Parameters:
    ///   - what: a short name of the request for logs (URL without query).
    ///   - attempt: performs attempt number `n` (1-based).
    func run<Value: Sendable>(_ what: String, _ attempt: (Int) async throws -> AttemptResult<Value>) async throws -> Value {
        var number = 0
        var immediateRetries = 0
        while true {
            try Task.checkCancellation()
            number += 1
            switch try await attempt(number) {
            case .success(let value):
                return value
            case .retryNow:
                immediateRetries += 1
                if immediateRetries > 2 { throw GraphError(code: .unauthorized, message: "the request kept being rejected after renewing the token", url: what) }
                continue
            case .failure(let outcome, let error):
                switch policy.decide(after: outcome, attempt: number, now: time.now(), deadline: deadline, random: random) {
                case .retry(let wait):
                    logger.debug("retrying Graph request", metadata: [
                        "url": "\(what)", "attempt": "\(number)", "wait_seconds": "\(wait)", "reason": "\(error.code)",
                    ])
                    try await time.sleep(seconds: wait)
                case .giveUp:
                    var final = error
                    final.attempts = number
                    throw final
                case .beyondDeadline(let wait):
                    if case .status(let status, _) = outcome, RetryPolicy.throttlingStatuses.contains(status) {
                        var beyond = error
                        beyond.code = .throttledBeyondDeadline
                        beyond.message = "Graph asked to wait \(Self.seconds(wait)) s, which ends after this run's deadline"
                        beyond.fix = "none needed: the next run resumes from the stored link"
                        beyond.attempts = number
                        throw beyond
                    }
                    var final = error
                    final.attempts = number
                    throw final
                }
            }
        }
    }

    private static func seconds(_ value: TimeInterval) -> String {
        String(format: "%.1f", value)
    }
}

/// A tiny lock-protected box for the client's counters and token cache.
final class Locked<Value>: @unchecked Sendable {
    // @unchecked: every access to `value` goes through `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
