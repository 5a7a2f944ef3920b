import DirSyncCore
import Foundation
import Testing

@Suite("Retry-After parsing and retry decisions")
struct RetryPolicyTests {
    private let now = Date(timeIntervalSince1970: 1_750_000_000)

    @Test("Retry-After: integer, fractional, HTTP-date (future and past), and garbage", arguments: [
        ("17", 17.0 as Double?), ("2.128", 2.128), (" 0 ", 0), ("0.5", 0.5),
        ("-3", nil), ("abc", nil), ("", nil), ("1.2.3", nil), ("1e3", nil), ("NaN", nil),
    ])
    func retryAfterSeconds(value: String, expected: Double?) {
        #expect(RetryAfter.seconds(from: value, now: now) == expected)
    }

    @Test("Retry-After as an HTTP-date gives the seconds until then, never negative")
    func retryAfterDate() {
        // 1_750_000_000 is Sun, 15 Jun 2025 15:06:40 GMT.
        #expect(RetryAfter.seconds(from: "Sun, 15 Jun 2025 15:07:10 GMT", now: now) == 30)
        #expect(RetryAfter.seconds(from: "Sun, 15 Jun 2025 15:00:00 GMT", now: now) == 0)
        #expect(RetryAfter.seconds(from: "Sunday, 15-Jun-25 15:07:10 GMT", now: now) == 30)
    }

    @Test("429/503/504 wait exactly Retry-After, fractions included")
    func honoursRetryAfter() {
        let policy = RetryPolicy()
        for status in [429, 503, 504] {
            #expect(policy.decide(after: .status(status, retryAfter: 2.128), attempt: 1, now: now, deadline: nil, random: { 0.99 }) == .retry(after: 2.128))
        }
    }

    @Test("without Retry-After the wait is full jitter within the doubling ceiling")
    func jitterBounds() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: 1, maxDelay: 30)
        #expect(policy.backoffCeiling(afterAttempt: 1) == 1)
        #expect(policy.backoffCeiling(afterAttempt: 3) == 4)
        #expect(policy.backoffCeiling(afterAttempt: 9) == 30)
        for attempt in 1..<10 {
            for unit in [0.0, 0.25, 0.999] {
                let decision = policy.decide(after: .status(500, retryAfter: nil), attempt: attempt, now: now, deadline: nil, random: { unit })
                #expect(decision == .retry(after: unit * policy.backoffCeiling(afterAttempt: attempt)))
            }
        }
        // Retry-After on a 500 is not a throttling instruction: backoff applies.
        #expect(policy.decide(after: .status(500, retryAfter: 99), attempt: 1, now: now, deadline: nil, random: { 0.5 }) == .retry(after: 0.5))
    }

    @Test("transient failures are retried; other 4xx, TLS and local refusals never are", arguments: [
        (AttemptOutcome.status(500, retryAfter: nil), true), (.status(502, retryAfter: nil), true), (.malformedBody, true),
        (.transport(TransportError(kind: .connectionLost, message: "reset")), true),
        (.transport(TransportError(kind: .timeout, message: "t")), true),
        (.transport(TransportError(kind: .connect, message: "c")), true),
        (.transport(TransportError(kind: .tls, message: "t")), false),
        (.transport(TransportError(kind: .refused, message: "r")), false),
        (.status(400, retryAfter: nil), false), (.status(401, retryAfter: nil), false), (.status(403, retryAfter: 5), false),
        (.status(404, retryAfter: nil), false), (.status(410, retryAfter: nil), false), (.status(501, retryAfter: nil), false),
    ])
    func retryable(outcome: AttemptOutcome, retried: Bool) {
        let decision = RetryPolicy().decide(after: outcome, attempt: 1, now: now, deadline: nil, random: { 0.5 })
        #expect((decision != .giveUp) == retried)
    }

    @Test("attempts are capped")
    func attemptCap() {
        let policy = RetryPolicy(maxAttempts: 3)
        #expect(policy.decide(after: .status(429, retryAfter: 1), attempt: 2, now: now, deadline: nil, random: { 0 }) == .retry(after: 1))
        #expect(policy.decide(after: .status(429, retryAfter: 1), attempt: 3, now: now, deadline: nil, random: { 0 }) == .giveUp)
    }

    @Test("a wait ending after the deadline is reported, not slept")
    func deadline() {
        let policy = RetryPolicy()
        let deadline = now.addingTimeInterval(10)
        #expect(policy.decide(after: .status(429, retryAfter: 9.5), attempt: 1, now: now, deadline: deadline, random: { 0 }) == .retry(after: 9.5))
        #expect(policy.decide(after: .status(429, retryAfter: 10.5), attempt: 1, now: now, deadline: deadline, random: { 0 }) == .beyondDeadline(wait: 10.5))
    }
}
