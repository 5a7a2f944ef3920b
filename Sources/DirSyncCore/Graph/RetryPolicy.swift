import Foundation

/// Reads the `Retry-After` header: delay-seconds (Graph sends fractions such as `2.128`) or an HTTP-date.
public enum RetryAfter {
    /// The wait in seconds, or `nil` for a missing, negative or unreadable value.
    /// - Parameters:
    ///   - value: the header value.
    ///   - now: the current time, to turn an HTTP-date into a delay (a past date gives 0).
    public static func seconds(from value: String, now: Date) -> TimeInterval? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            guard let seconds = Double(text), seconds.isFinite, seconds >= 0 else { return nil }
            return seconds
        }
        guard let date = httpDate(text) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    /// Parses IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 and asctime forms (RFC 9110 §5.6.7).
    static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

/// The result of one attempt, as far as retrying is concerned.
public enum AttemptOutcome: Sendable, Equatable {
    /// An HTTP response arrived with this status (and maybe a `Retry-After`, in seconds).
    case status(Int, retryAfter: TimeInterval?)
    /// No response arrived.
    case transport(TransportError)
    /// A 2xx arrived but its body could not be read (truncated, not JSON, no links).
    case malformedBody
}

/// What to do after a failed attempt.
public enum RetryDecision: Sendable, Equatable {
    /// Wait this many seconds, then send again.
    case retry(after: TimeInterval)
    /// Give up: the failure is permanent, or attempts are used up.
    case giveUp
    /// Give up because the wait would end after the run's deadline.
    case beyondDeadline(wait: TimeInterval)
}

/// When and how long to wait before sending a failed request again. Pure: randomness and time come in.
///
/// - 429, 503, 504: wait exactly `Retry-After` when given; else exponential backoff with full jitter.
/// - 500, 502, retryable ``TransportError``s and malformed 2xx bodies: backoff with full jitter.
/// - Any other status (4xx): never retried here (401 is handled by the client with one token refresh).
public struct RetryPolicy: Sendable, Equatable {
    /// The most attempts per request, the first one included.
    public var maxAttempts: Int
    /// The backoff ceiling for the first retry, in seconds; it doubles per attempt.
    public var baseDelay: TimeInterval
    /// The largest backoff ceiling, in seconds (does not cap a server-sent `Retry-After`).
    public var maxDelay: TimeInterval
    /// Statuses whose `Retry-After` is honoured.
    public static let throttlingStatuses: Set<Int> = [429, 503, 504]
    /// Statuses retried with backoff alone.
    public static let transientStatuses: Set<Int> = [500, 502]

    public init(maxAttempts: Int = 8, baseDelay: TimeInterval = 1, maxDelay: TimeInterval = 60) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(self.baseDelay, maxDelay)
    }

    /// Whether an outcome can ever be retried.
    public static func isRetryable(_ outcome: AttemptOutcome) -> Bool {
        switch outcome {
        case .status(let status, _): throttlingStatuses.contains(status) || transientStatuses.contains(status)
        case .transport(let error): error.isRetryable
        case .malformedBody: true
        }
    }

    /// The upper bound of the jittered backoff before retry number `attempt` (1-based count of failed attempts).
    public func backoffCeiling(afterAttempt attempt: Int) -> TimeInterval {
        let exponent = Double(min(max(attempt - 1, 0), 30))
        return min(maxDelay, baseDelay * pow(2, exponent))
    }

    /// Decides what follows a failed attempt.
    ///
    /// - Parameters:
    ///   - outcome: how the attempt failed.
    ///   - attempt: how many attempts have been made so far (1 after the first).
    ///   - now: the current time.
    ///   - deadline: the run's deadline; a wait ending after it gives ``RetryDecision/beyondDeadline(wait:)``.
    ///   - random: returns a value in `0..<1`; used for full jitter.
    public func decide(after outcome: AttemptOutcome, attempt: Int, now: Date, deadline: Date?, random: () -> Double) -> RetryDecision {
        guard Self.isRetryable(outcome), attempt < maxAttempts else { return .giveUp }
        let wait: TimeInterval
        if case .status(let status, let retryAfter?) = outcome, Self.throttlingStatuses.contains(status) {
            wait = retryAfter
        } else {
            let unit = min(max(random(), 0), 1)
            wait = unit * backoffCeiling(afterAttempt: attempt)
        }
        if let deadline, now.addingTimeInterval(wait) > deadline { return .beyondDeadline(wait: wait) }
        return .retry(after: wait)
    }
}
