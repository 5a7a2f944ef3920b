import DirSyncCore
import Foundation
import Logging

/// A transport that answers from a script and records every request it saw.
package final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    private let lock = NSLock()
    private var handler: @Sendable (HTTPRequest, Int) throws -> HTTPResponse
    private var seen: [HTTPRequest] = []

    /// - Parameter handler: gets each request and its 0-based index.
    package init(_ handler: @escaping @Sendable (HTTPRequest, Int) throws -> HTTPResponse) {
        self.handler = handler
    }

    /// Answers requests in order from `responses` (the last one repeats).
    package convenience init(responses: [Result<HTTPResponse, TransportError>]) {
        self.init { _, index in try responses[min(index, responses.count - 1)].get() }
    }

    package var requests: [HTTPRequest] { lock.withLock { seen } }

    package func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let index = lock.withLock { () -> Int in
            seen.append(request)
            return seen.count - 1
        }
        return try handler(request, index)
    }
}

/// A clock that only moves when the code under test sleeps or a test advances it.
package final class ManualClock: TimeSource, @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    private let lock = NSLock()
    private var current: Date
    private var slept: [TimeInterval] = []

    package init(_ start: Date = Date(timeIntervalSince1970: 1_750_000_000)) { current = start }

    package func now() -> Date { lock.withLock { current } }

    package func sleep(seconds: TimeInterval) async throws {
        lock.withLock {
            slept.append(seconds)
            current = current.addingTimeInterval(seconds)
        }
    }

    package func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }

    package var sleeps: [TimeInterval] { lock.withLock { slept } }
}

/// A token source handing out numbered tokens; counts fetches and invalidations.
package final class CountingTokenSource: AccessTokenSource, @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    private let lock = NSLock()
    private var issued = 0
    private var invalidated: [AccessToken] = []
    private var cached: AccessToken?
    package let defaultClientID = "11111111-2222-3333-4444-555555555555"

    package init() {}

    package func token(for key: TokenKey) async throws -> AccessToken {
        lock.withLock {
            if let cached { return cached }
            issued += 1
            let token = AccessToken(value: "SECRET-TOKEN-\(issued)", expiresOn: Date().addingTimeInterval(3600), issuedAt: Date())
            cached = token
            return token
        }
    }

    package func invalidate(_ token: AccessToken, for key: TokenKey) {
        lock.withLock {
            invalidated.append(token)
            if cached == token { cached = nil }
        }
    }

    package var issuedCount: Int { lock.withLock { issued } }
    package var invalidations: Int { lock.withLock { invalidated.count } }
}

/// Records every log line, message and metadata rendered as text, for scanning.
package final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    // @unchecked: `lines` is behind `lock`; metadata/logLevel follow LogHandler's value-like contract in tests.
    private let lock = NSLock()
    private var recorded: [String] = []
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .trace

    package init() {}

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let line = "\(event.level) \(event.message) " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lock.withLock { recorded.append(line) }
    }

    package var lines: [String] { lock.withLock { recorded } }

    package func logger() -> Logger {
        Logger(label: "test") { _ in self }
    }
}

package enum Fixture {
    package static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    package static func json(_ status: Int = 200, _ text: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }
}
