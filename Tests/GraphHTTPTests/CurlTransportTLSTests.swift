import DirSyncCore
import DirSyncTestSupport
import Foundation
import GraphHTTP
import Testing

/// TLS against a real TLS server on loopback (`openssl s_server`), with a throwaway CA-less
/// self-signed certificate: verification is always on, and an extra CA file is honoured.
@Suite("libcurl transport over TLS", .serialized)
struct CurlTransportTLSTests {
    /// A running `openssl s_server -www` with a self-signed certificate for 127.0.0.1.
    final class TLSServer: @unchecked Sendable {
        let directory: URL
        let certificate: String
        let port: Int
        private let process: Process

        /// - Parameter subjectAltName: the names the certificate is valid for.
        init(subjectAltName: String = "IP:127.0.0.1,DNS:localhost") throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("dirsync-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            certificate = directory.appendingPathComponent("cert.pem").path
            let key = directory.appendingPathComponent("key.pem").path
            let openssl = Process()
            openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
                                 "-subj", "/CN=dirsync-test", "-addext", "subjectAltName=\(subjectAltName)"]
            openssl.standardOutput = FileHandle.nullDevice
            openssl.standardError = FileHandle.nullDevice
            try openssl.run()
            openssl.waitUntilExit()
            guard openssl.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
            // A free port: bind, read, release.
            let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) } }
            port = Int(UInt16(bigEndian: address.sin_port))
            close(probe)
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key, "-www", "-quiet"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = Pipe()
            try process.run()
        }

        /// Waits until the server accepts connections.
        func waitUntilListening() async throws {
            for _ in 0..<200 {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = UInt16(port).bigEndian
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                close(fd)
                if connected == 0 { return }
                try await Task.sleep(for: .milliseconds(25))
            }
        }

        deinit {
            process.terminate()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test("TLS verification is always on: a certificate the system does not trust is refused as a TLS error, without a retry-worthy kind")
    func untrustedCertificateIsRefused() async throws {
        let server = try TLSServer()
        try await server.waitUntilListening()
        let transport = CurlTransport()
        let error = try await #require(throws: TransportError.self) {
            _ = try await transport.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
        }
        #expect(error.kind == .tls)
        #expect(!error.isRetryable)
    }

    @Test("an extra CA file (DIRSYNC_CA_FILE) is trusted in addition to the system bundle")
    func extraCAFileIsTrusted() async throws {
        let server = try TLSServer()
        try await server.waitUntilListening()
        let transport = CurlTransport(configuration: .init(caFile: server.certificate))
        let response = try await transport.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("s_server"))
    }

    @Test("the certificate must name the host: a trusted certificate for another name is refused")
    func hostNameIsVerified() async throws {
        let server = try TLSServer(subjectAltName: "DNS:graph.example.invalid")
        try await server.waitUntilListening()
        let transport = CurlTransport(configuration: .init(caFile: server.certificate))
        let error = try await #require(throws: TransportError.self) {
            _ = try await transport.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
        }
        #expect(error.kind == .tls)
    }
}
