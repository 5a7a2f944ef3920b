import FlyingFox
import FlyingSocks
import Synchronization

/// When each connection's request began to arrive, so injected latency counts from there.
///
/// The server reads a request's head through an async byte sequence before the handler runs: on a
/// busy 2-core machine that parsing took about half a millisecond for a delta request with its
/// kilobyte-long skiptoken, time a client saw on top of the injected latency. This pool wraps the
/// server's own and notes the moment a connection's socket turns readable after the server had read
/// everything before it, which is the moment the next request's first bytes arrived: a client sends
/// a request on a kept-alive connection only after the previous answer. The handler takes that
/// moment (once) as the request's start.
///
/// A request whose bytes were already waiting when the server came to read them leaves no mark, and
/// its latency counts from the handler's start, as without this pool. A connection that closes leaves
/// a mark (its socket turned readable for the end of stream): marks are taken only while a few
/// seconds old, so a later connection from the same port cannot take a stale one, and old ones are
/// dropped.
final class RequestArrivals: AsyncSocketPool {
    private let inner: any AsyncSocketPool
    private let marks = Mutex<[HTTPRequest.Address: ContinuousClock.Instant]>([:])
    private static let staleAfter = Duration.seconds(5)

    init(wrapping inner: any AsyncSocketPool) {
        self.inner = inner
    }

    func prepare() async throws {
        try await inner.prepare()
    }

    func run() async throws {
        try await inner.run()
    }

    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        try await inner.suspendSocket(socket, untilReadyFor: events)
        guard events.contains(.read) else { return }
        let now = ContinuousClock.now
        // The listening socket has no peer: accepting is not a request's arrival.
        guard let peer = try? socket.remotePeer() else { return }
        marks.withLock { marks in
            if marks.count > 1024 { marks = marks.filter { now - $0.value < Self.staleAfter } }
            marks[.make(from: peer)] = now
        }
    }

    /// When the request from `address` began to arrive, if the server waited for it; each mark is
    /// handed out once.
    func take(_ address: HTTPRequest.Address?) -> ContinuousClock.Instant? {
        guard let address, let mark = marks.withLock({ $0.removeValue(forKey: address) }) else { return nil }
        return ContinuousClock.now - mark < Self.staleAfter ? mark : nil
    }
}
