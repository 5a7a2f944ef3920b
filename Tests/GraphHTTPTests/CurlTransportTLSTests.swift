import DirSyncCore
import DirSyncTestSupport
import Foundation
import GraphHTTP
import Testing

/// TLS against a real TLS server on loopback (`openssl s_server`), with a throwaway CA-less
/// self-signed certificate: verification is always on, and an extra CA file is honoured.
@Suite("libcurl transport over TLS")
struct CurlTransportTLSTests {
    /// A running `openssl s_server -www` with a self-signed certificate for 127.0.0.1.
    final class TLSServer: Sendable {
        let directory: URL
        let certificate: String
        let port: Int
        private let process: ChildProcess

        private init(directory: URL, certificate: String, port: Int, process: ChildProcess) {
            self.directory = directory
            self.certificate = certificate
            self.port = port
            self.process = process
        }

        /// Makes a certificate and starts the server on a free port, once it says it accepts connections.
        /// - Parameter subjectAltName: the names the certificate is valid for.
        static func start(subjectAltName: String = "IP:127.0.0.1,DNS:localhost") async throws -> TLSServer {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dirsync-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let certificate = directory.appendingPathComponent("cert.pem").path
            let key = directory.appendingPathComponent("key.pem").path
            let openssl = try ChildProcess("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
                "-subj", "/CN=dirsync-test", "-addext", "subjectAltName=\(subjectAltName)",
            ])
            let made = try await openssl.exit()
            guard made.status == 0, !made.signalled else { throw CocoaError(.fileWriteUnknown) }
            // Port 0: the kernel picks a free port, and s_server names it in its "ACCEPT 127.0.0.1:PORT" line.
            let server = try ChildProcess("/usr/bin/openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", certificate, "-key", key, "-www"])
            let accepting = try await server.outputLine("s_server to accept connections") { $0.hasPrefix("ACCEPT ") }
            guard let port = accepting.split(separator: ":").last.flatMap({ Int($0) }) else {
                server.send(SIGKILL)
                throw CocoaError(.fileReadCorruptFile)
            }
            return TLSServer(directory: directory, certificate: certificate, port: port, process: server)
        }

        deinit {
            process.send(SIGTERM)
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test("TLS verification is always on: a certificate the system does not trust is refused as a TLS error, without a retry-worthy kind")
    func untrustedCertificateIsRefused() async throws {
        let server = try await TLSServer.start()
        let transport = CurlTransport()
        let error = try await #require(throws: TransportError.self) {
            _ = try await transport.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
        }
        #expect(error.kind == .tls)
        #expect(!error.isRetryable)
    }

    @Test("an extra CA file (DIRSYNC_CA_FILE) is trusted in addition to the system bundle")
    func extraCAFileIsTrusted() async throws {
        let server = try await TLSServer.start()
        let transport = CurlTransport(configuration: .init(caFile: server.certificate))
        let response = try await transport.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("s_server"))
    }

    @Test("the certificate must name the host: a trusted certificate for another name is refused")
    func hostNameIsVerified() async throws {
        let server = try await TLSServer.start(subjectAltName: "DNS:graph.example.invalid")
        let transport = CurlTransport(configuration: .init(caFile: server.certificate))
        let error = try await #require(throws: TransportError.self) {
            _ = try await transport.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
        }
        #expect(error.kind == .tls)
    }
}
