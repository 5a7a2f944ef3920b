#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns off Nagle's algorithm for the simulator's connections.
///
/// FlyingFox writes a response's head and body separately. With Nagle on, the body waits for the
/// client to acknowledge the head, and the client delays that ACK by up to 40 ms, so every response
/// on a kept-alive connection took about 40 ms on loopback where real Graph takes none of that.
/// FlyingFox creates its sockets internally, so this finds the listening socket bound to `port`
/// among the process's descriptors and sets `TCP_NODELAY` on it; on Linux and the BSDs accepted
/// connections inherit the option from the listening socket.
enum ListeningSocketTuning {
    /// - Returns: whether the listening socket was found and tuned.
    @discardableResult
    static func disableNagle(onListenerOfPort port: UInt16) -> Bool {
        for fd in Int32(3)..<Int32(4096) {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0, address.sin_family == sa_family_t(AF_INET), UInt16(bigEndian: address.sin_port) == port else { continue }
            var listening: Int32 = 0
            var optionLength = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optionLength) == 0, listening == 1 else { continue }
            var on: Int32 = 1
            return setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
        }
        return false
    }
}
