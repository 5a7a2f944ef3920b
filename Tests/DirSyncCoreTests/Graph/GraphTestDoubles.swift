import DirSyncCore
import Foundation
import Logging

/// A transport that answers from a script and records every request it saw.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    private let lock = NSLock()
    private var handler: @Sendable (HTTPRequest, Int) throws -> HTTPResponse
    private var seen: [HTTPRequest] = []

    /// - Parameter handler: gets each request and its 0-based index.
    init(_ handler: @escaping @Sendable (HTTPRequest, Int) throws -> HTTPResponse) {
        self.handler = handler
    }

    /// Answers requests in order from `responses` (the last one repeats).
    convenience init(responses: [Result<HTTPResponse, TransportError>]) {
        self.init { _, index in try responses[min(index, responses.count - 1)].get() }
    }

    var requests: [HTTPRequest] { lock.withLock { seen } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let index = lock.withLock { () -> Int in
            seen.append(request)
            return seen.count - 1
        }
        return try handler(request, index)
    }
}

/// A clock that only moves when the code under test sleeps.
final class FakeTime: TimeSource, @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    private let lock = NSLock()
    private var current: Date
    private var slept: [TimeInterval] = []

    init(_ start: Date = Date(timeIntervalSince1970: 1_750_000_000)) { current = start }

    func now() -> Date { lock.withLock { current } }

    func sleep(seconds: TimeInterval) async throws {
        lock.withLock {
            slept.append(seconds)
            current = current.addingTimeInterval(seconds)
        }
    }

    func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }

    var sleeps: [TimeInterval] { lock.withLock { slept } }
}

/// A token source handing out numbered tokens; counts fetches and invalidations.
final class CountingTokenSource: AccessTokenSource, @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    private let lock = NSLock()
    private var issued = 0
    private var invalidated: [AccessToken] = []
    private var cached: AccessToken?
    let defaultClientID = "11111111-2222-3333-4444-555555555555"

    func token(for key: TokenKey) async throws -> AccessToken {
        lock.withLock {
            if let cached { return cached }
            issued += 1
            let token = AccessToken(value: "SECRET-TOKEN-\(issued)", expiresOn: Date().addingTimeInterval(3600), issuedAt: Date())
            cached = token
            return token
        }
    }

    func invalidate(_ token: AccessToken, for key: TokenKey) {
        lock.withLock {
            invalidated.append(token)
            if cached == token { cached = nil }
        }
    }

    var issuedCount: Int { lock.withLock { issued } }
    var invalidations: Int { lock.withLock { invalidated.count } }
}

/// Records every log line, message and metadata rendered as text, for scanning.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    // @unchecked: `lines` is behind `lock`; metadata/logLevel follow LogHandler's value-like contract in tests.
    private let lock = NSLock()
    private var recorded: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let line = "\(event.level) \(event.message) " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lock.withLock { recorded.append(line) }
    }

    var lines: [String] { lock.withLock { recorded } }

    func logger() -> Logger {
        Logger(label: "test") { _ in self }
    }
}

enum Fixture {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func json(_ status: Int = 200, _ text: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }
}
