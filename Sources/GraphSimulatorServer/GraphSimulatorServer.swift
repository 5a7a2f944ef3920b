import FlyingFox
import FlyingSocks
import Foundation
import GraphSimulator

/// Serves a ``GraphSimulator`` over HTTP on a loopback address (FlyingFox).
///
/// One base URL serves the identity platform (`/{tenant}/oauth2/v2.0/token`,
/// `/{tenant or domain}/v2.0/.well-known/openid-configuration`), Graph (`/v1.0/…`) and the control API (`/_graphsim/…`),
/// which the server extends with `/_graphsim/pause` (see ``RequestPause``): requests held on their way in.
/// Test targets start it in-process on port 0:
/// ```swift
/// let server = try await GraphSimulatorServer.start(simulator: GraphSimulator(configuration: .init()))
/// defer { Task { await server.stop() } }
/// // point the client at server.baseURL
/// ```
public enum GraphSimulatorServer {
    /// Why the server refused to start.
    public struct StartError: Error, CustomStringConvertible, Sendable {
        /// What went wrong.
        public var description: String
    }

    /// Binds `host:port` (port 0 picks a free port), sets the simulator's base URL and starts serving.
    /// - Parameters:
    ///   - host: `127.0.0.1` (or another `127.x.y.z`) or `localhost`; anything else is refused (the control API
    ///     must never be reachable from the network).
    ///   - log: Receives one line per request (method, path, status, duration); nil for silence.
    /// - Throws: ``StartError`` for a non-loopback host or when nothing is listening within 60 s (binding
    ///   takes milliseconds, but on a busy machine the server's task may start late: the bound only
    ///   catches a server that never listens).
    public static func start(simulator: GraphSimulator, host: String = "127.0.0.1", port: UInt16 = 0,
                             log: (@Sendable (String) -> Void)? = nil) async throws -> RunningServer {
        let ip: String
        if host == "localhost" {
            ip = "127.0.0.1"
        } else if host.hasPrefix("127."), host.split(separator: ".").count == 4 {
            ip = host
        } else {
            throw StartError(description: "refusing to listen on '\(host)': graph-sim serves loopback (127.0.0.0/8) only")
        }
        let arrivals = RequestArrivals(wrapping: HTTPServer.defaultPool())
        let server = HTTPServer(address: try .inet(ip4: ip, port: port), timeout: 120, pool: arrivals, logger: .disabled)
        let stopper = ShutdownSignal()
        let pause = RequestPause()
        await server.appendRoute("*") { request in
            try await respond(to: request, simulator: simulator, arrivals: arrivals, pause: pause, stopper: stopper, log: log)
        }
        let task = Task { try await server.run() }
        do {
            try await server.waitUntilListening(timeout: 60)
        } catch {
            task.cancel()
            throw StartError(description: "server did not start listening on \(ip):\(port): \(error)")
        }
        guard case .ip4(_, let boundPort)? = await server.listeningAddress else {
            task.cancel()
            throw StartError(description: "server has no IPv4 listening address")
        }
        ListeningSocketTuning.disableNagle(onListenerOfPort: boundPort)
        let base = "http://\(host == "localhost" ? "localhost" : ip):\(boundPort)"
        simulator.setBaseURL(base)
        let running = RunningServer(baseURL: base, server: server, task: task, pause: pause)
        stopper.set(running)
        return running
    }

    private static func respond(to request: HTTPRequest, simulator: GraphSimulator, arrivals: RequestArrivals, pause: RequestPause,
                                stopper: ShutdownSignal, log: (@Sendable (String) -> Void)?) async throws -> HTTPResponse {
        var headers: [String: String] = [:]
        for (name, value) in request.headers { headers[name.rawValue.lowercased()] = value }
        let body = [UInt8](try await request.bodyData)
        // The request arrived when its first bytes did (or, when it was waiting to be read, now).
        var started = arrivals.take(request.remoteAddress) ?? ContinuousClock.now
        let simRequest = SimRequest(method: request.method.rawValue, path: request.path,
                                    query: request.query.map { (name: $0.name, value: $0.value) }, headers: headers, body: body)
        // A held request's response time starts when it is let go.
        if await pause.admit(simRequest) { started = ContinuousClock.now }
        let answer = await pause.control(simRequest) ?? simulator.handle(simRequest)
        // Injected latency is the response time a client sees, as with a real service: the answer
        // leaves `delayMillis` after the request arrived, the simulator's own work included.
        if answer.delayMillis > 0 { try await Task.sleep(until: started + .milliseconds(answer.delayMillis), tolerance: .zero, clock: .continuous) }
        if let log {
            let ms = (ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000
                + (ContinuousClock.now - started).components.seconds * 1000
            log("\(request.method.rawValue) \(request.path) \(answer.status) \(ms)ms\(answer.transport == .normal ? "" : " [\(answer.transport)]")")
        }
        if answer.shutdown {
            Task {
                try? await Task.sleep(for: .milliseconds(100))
                await stopper.stop()
            }
        }
        var responseHeaders = HTTPHeaders()
        for (name, value) in answer.headers { responseHeaders.addValue(value, for: HTTPHeader(name)) }
        let status = HTTPStatusCode(answer.status, phrase: reasonPhrase(answer.status))
        switch answer.transport {
        case .normal:
            // One write for the whole body: FlyingFox's default sends it 4 KiB at a time, one socket
            // write and one suspension each, which put 1-2 ms of the server's own between the latency
            // elapsing and a 100 KiB page arriving.
            return HTTPResponse(statusCode: status, headers: responseHeaders,
                                body: HTTPBodySequence(data: Data(answer.body), suggestedBufferSize: max(answer.body.count, 4096)))
        case .truncateBody:
            responseHeaders[.connection] = "close"
            let half = Array(answer.body.prefix(answer.body.count / 2))
            return HTTPResponse(statusCode: status, headers: responseHeaders,
                                body: HTTPBodySequence(from: TruncatedBytes(bytes: half), count: answer.body.count))
        case .resetConnection:
            return HTTPResponse(headers: [:], webSocket: ConnectionDropper())
        }
    }

    static func reasonPhrase(_ code: Int) -> String {
        switch code {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 410: return "Gone"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Status \(code)"
        }
    }
}

/// A server started by ``GraphSimulatorServer/start(simulator:host:port:log:)``.
public final class RunningServer: Sendable {
    /// `http://127.0.0.1:PORT`: the base of every link the simulator writes.
    public let baseURL: String
    private let server: HTTPServer
    private let task: Task<Void, any Error>
    private let pause: RequestPause

    init(baseURL: String, server: HTTPServer, task: Task<Void, any Error>, pause: RequestPause) {
        self.baseURL = baseURL
        self.server = server
        self.task = task
        self.pause = pause
    }

    /// Stops listening and closes connections (requests held by a pause are let go first).
    public func stop() async {
        pause.end()
        await server.stop(timeout: 1)
        task.cancel()
    }

    /// Returns once the server has stopped (after ``stop()`` or `POST /_graphsim/shutdown`).
    public func waitUntilStopped() async {
        _ = try? await task.value
    }
}

/// Lets a request handler stop the server that is running it.
final class ShutdownSignal: Sendable {
    private let box = LockedBox<RunningServer?>(nil)
    func set(_ server: RunningServer) { box.set(server) }
    func stop() async { await box.get()?.stop() }
}

/// Sends the first half of a body, then fails, so the connection closes short of its `Content-Length`.
struct TruncatedBytes: AsyncBufferedSequence {
    typealias Element = UInt8
    let bytes: [UInt8]

    func makeAsyncIterator() -> Iterator { Iterator(bytes: bytes) }

    struct Iterator: AsyncBufferedIteratorProtocol {
        let bytes: [UInt8]
        var sent = false

        mutating func next() async throws -> UInt8? {
            guard let chunk = try await nextBuffer(suggested: 1) else { return nil }
            return chunk.first
        }

        mutating func nextBuffer(suggested count: Int) async throws -> ArraySlice<UInt8>? {
            guard !sent, !bytes.isEmpty else { throw TruncatedBodyError() }
            sent = true
            return bytes[...]
        }
    }
}

struct TruncatedBodyError: Error {}

/// A "WebSocket" handler that fails before the response head is written: FlyingFox then closes the
/// connection without sending a byte, which the client sees as a dropped connection.
struct ConnectionDropper: WSHandler {
    func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame> {
        throw TruncatedBodyError()
    }
}
