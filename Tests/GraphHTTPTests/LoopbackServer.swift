import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on a loopback socket, answering each connection with scripted raw bytes,
/// then closing it. Raw bytes let tests send what real servers and broken networks send: gzip bodies,
/// truncated bodies, resets, nothing at all.
final class LoopbackServer: @unchecked Sendable {
    // @unchecked: `requests` is behind `lock`; the socket is used by the accept thread and closed in stop().
    struct Request: Sendable {
        var head: String
        var body: [UInt8]

        func header(_ name: String) -> String? {
            for line in head.split(separator: "\r\n").dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == name.lowercased() {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    /// What to do with a connection.
    enum Reply: Sendable {
        /// Write these bytes, then close.
        case raw([UInt8])
        /// Close at once with a TCP reset (SO_LINGER 0).
        case reset
    }

    private let socketFD: Int32
    private let lock = NSLock()
    private var seen: [Request] = []
    let port: Int
    let host: String

    /// Binds `host` (an IPv4 or IPv6 literal) on an ephemeral port and starts accepting.
    /// - Parameter answersAtOnce: reply as soon as a connection is accepted, without reading a request
    ///   (`reply` then gets an empty one): what a plain HTTP server looks like to a TLS client.
    init(host: String = "127.0.0.1", answersAtOnce: Bool = false, reply: @escaping @Sendable (Request) -> Reply) throws {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var boundPort = 0
        if v6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            inet_pton(AF_INET6, host, &address.sin6_addr)
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let ok = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard ok else { close(fd); throw POSIXError(.EADDRNOTAVAIL) }
            boundPort = Int(UInt16(bigEndian: address.sin6_port))
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, host, &address.sin_addr)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard ok else { close(fd); throw POSIXError(.EADDRNOTAVAIL) }
            boundPort = Int(UInt16(bigEndian: address.sin_port))
        }
        guard listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EIO) }
        socketFD = fd
        port = boundPort
        self.host = host
        let thread = Thread { [self] in self.acceptLoop(reply, answersAtOnce: answersAtOnce) }
        thread.start()
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` or `http://[::1]:41234`.
    var baseURL: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }

    var requests: [Request] { lock.withLock { seen } }

    func stop() {
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
    }

    private func acceptLoop(_ reply: @Sendable (Request) -> Reply, answersAtOnce: Bool) {
        while true {
            let client = accept(socketFD, nil, nil)
            guard client >= 0 else { return }
            guard let request = answersAtOnce ? Request(head: "", body: []) : readRequest(client) else { close(client); continue }
            lock.withLock { seen.append(request) }
            switch reply(request) {
            case .raw(let bytes):
                var sent = 0
                while sent < bytes.count {
                    let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { break }
                    sent += n
                }
                shutdown(client, Int32(SHUT_WR))
                close(client)
            case .reset:
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                close(client)
            }
        }
    }

    private func readRequest(_ client: Int32) -> Request? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while true {
            if let end = buffer.firstRange(of: separator) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                let request = Request(head: head, body: [])
                let length = request.header("Content-Length").flatMap { Int($0) } ?? 0
                var body = Array(buffer[end.upperBound...])
                while body.count < length {
                    let n = recv(client, &chunk, chunk.count, 0)
                    if n <= 0 { return nil }
                    body += chunk[0..<n]
                }
                return Request(head: head, body: body)
            }
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
        }
    }

    /// A complete HTTP/1.1 response.
    static func response(status: Int, reason: String = "OK", headers: [(String, String)] = [], body: [UInt8] = [], contentLength: Int? = nil) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reason)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(contentLength ?? body.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}
