import DirSyncCore
import DirSyncTestDoubles
import Foundation
import GraphHTTP
import Logging
import Testing

@Suite("libcurl transport over real loopback sockets", .serialized)
struct CurlTransportTests {
    private let transport = CurlTransport(configuration: .init(connections: 2))

    @Test("GET sends custom headers and returns status, headers and body")
    func getWithHeaders() async throws {
        let server = try LoopbackServer { _ in
            .raw(LoopbackServer.response(status: 200, headers: [("Content-Type", "application/json"), ("request-id", "rid-7")], body: Array(#"{"ok":true}"#.utf8)))
        }
        defer { server.stop() }
        let response = try await transport.send(HTTPRequest(url: server.baseURL + "/v1.0/users/delta?$skiptoken=x", headers: [("X-Test", "hello"), ("Prefer", "return=minimal")]))
        #expect(response.status == 200)
        #expect(response.header("request-id") == "rid-7")
        #expect(response.header("content-type") == "application/json")
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"ok":true}"#)
        let request = try #require(server.requests.first)
        #expect(request.head.hasPrefix("GET /v1.0/users/delta?$skiptoken=x HTTP/1.1"))
        #expect(request.header("X-Test") == "hello")
        #expect(request.header("Prefer") == "return=minimal")
        #expect(request.header("Accept-Encoding")?.contains("gzip") == true)
    }

    @Test("POST sends the form body")
    func postBody() async throws {
        let server = try LoopbackServer { _ in .raw(LoopbackServer.response(status: 200, body: Array("{}".utf8))) }
        defer { server.stop() }
        _ = try await transport.send(HTTPRequest(method: "POST", url: server.baseURL + "/t/oauth2/v2.0/token",
                                                 headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("a=1&b=2".utf8)))
        let request = try #require(server.requests.first)
        #expect(request.head.hasPrefix("POST /t/oauth2/v2.0/token"))
        #expect(request.body == Array("a=1&b=2".utf8))
    }

    @Test("a gzip-encoded body is decoded")
    func gzip() async throws {
        let plain = Array(String(repeating: #"{"id":"x"},"#, count: 200).utf8)
        let compressed = try Self.gzip(plain)
        let server = try LoopbackServer { _ in .raw(LoopbackServer.response(status: 200, headers: [("Content-Encoding", "gzip")], body: compressed)) }
        defer { server.stop() }
        let response = try await transport.send(HTTPRequest(url: server.baseURL + "/"))
        #expect(compressed.count < plain.count)
        #expect(response.body == plain)
    }

    @Test("a 429 comes back as a response with its Retry-After, for the core to honour")
    func throttled() async throws {
        let server = try LoopbackServer { _ in .raw(LoopbackServer.response(status: 429, reason: "Too Many Requests", headers: [("Retry-After", "2.128")])) }
        defer { server.stop() }
        let response = try await transport.send(HTTPRequest(url: server.baseURL + "/"))
        #expect(response.status == 429)
        #expect(response.header("Retry-After") == "2.128")
    }

    @Test("a truncated body, a reset and an empty reply are retryable connectionLost errors")
    func brokenConnections() async throws {
        let replies: [LoopbackServer.Reply] = [
            .raw(LoopbackServer.response(status: 200, body: Array("{\"value\":[".utf8), contentLength: 5000)),
            .reset,
            .raw([]),
        ]
        for reply in replies {
            let server = try LoopbackServer { _ in reply }
            defer { server.stop() }
            do {
                _ = try await transport.send(HTTPRequest(url: server.baseURL + "/"))
                Issue.record("expected a transport error for \(reply)")
            } catch let error as TransportError {
                #expect(error.kind == .connectionLost, "\(error)")
                #expect(error.isRetryable)
            }
        }
    }

    @Test("a refused connection is a connect error")
    func connectRefused() async throws {
        let server = try LoopbackServer { _ in .reset }
        let url = server.baseURL + "/"
        server.stop()
        do {
            _ = try await transport.send(HTTPRequest(url: url))
            Issue.record("expected connect failure")
        } catch let error as TransportError {
            #expect(error.kind == .connect)
        }
    }

    @Test("plain http to a non-loopback host is refused before any network use", arguments: [
        "http://graph.microsoft.com/v1.0/users", "http://10.0.0.1/", "http://localhost/", "http://127.0.0.1.evil.example/",
        "http://127.0.0.1@evil.example/", "http://[::2]/", "ftp://127.0.0.1/", "file:///etc/passwd", "not a url",
    ])
    func refusesPlainHTTP(url: String) async throws {
        do {
            _ = try await transport.send(HTTPRequest(url: url, headers: [("Authorization", "Bearer SECRET")]))
            Issue.record("expected refusal")
        } catch let error as TransportError {
            #expect(error.kind == .refused)
            #expect(!error.isRetryable)
            #expect(!error.message.contains("SECRET"))
        }
    }

    @Test("loopback literals are allowed: 127.0.0.2 and ::1")
    func loopbackAllowed() async throws {
        #expect(CurlTransport.isLoopback("127.255.0.9"))
        #expect(CurlTransport.isLoopback("[::1]"))
        #expect(CurlTransport.isLoopback("0:0:0:0:0:0:0:1"))
        #expect(!CurlTransport.isLoopback("128.0.0.1"))
        #expect(!CurlTransport.isLoopback("::ffff:8.8.8.8"))
        for host in ["127.0.0.2", "::1"] {
            let server = try LoopbackServer(host: host) { _ in .raw(LoopbackServer.response(status: 204)) }
            defer { server.stop() }
            #expect(try await transport.send(HTTPRequest(url: server.baseURL + "/x")).status == 204)
        }
    }

    @Test("https is not refused by the destination check (TLS failure to a plain server is a tls/connect error, not refused)")
    func httpsGoesThrough() async throws {
        // The server answers its plain HTTP at once, so the handshake fails on that answer instead of timing out.
        let server = try LoopbackServer(answersAtOnce: true) { _ in .raw(LoopbackServer.response(status: 200)) }
        defer { server.stop() }
        do {
            _ = try await transport.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
            Issue.record("a plain server cannot complete TLS")
        } catch let error as TransportError {
            #expect(error.kind != .refused)
        }
    }

    @Test("the core client pages through the curl transport end to end on loopback")
    func clientOverCurl() async throws {
        let server = try LoopbackServer { request in
            let path = request.head.split(separator: " ")[1]
            let body: String
            if path.contains("skiptoken") {
                body = #"{"@odata.deltaLink":"http://127.0.0.1:PORT/v1.0/users/delta?$deltatoken=d","value":[{"id":"00000000-0000-0000-0000-000000000002","jobTitle":null}]}"#
            } else {
                body = #"{"@odata.nextLink":"http://127.0.0.1:PORT/v1.0/users/delta?$skiptoken=s","value":[{"id":"00000000-0000-0000-0000-000000000001","displayName":"A"}]}"#
            }
            return .raw(LoopbackServer.response(status: 200, body: Array(body.replacingOccurrences(of: "PORT", with: request.header("Host")?.split(separator: ":").last.map(String.init) ?? "").utf8)))
        }
        defer { server.stop() }
        let endpoints = GraphEndpoints(graphBaseURL: server.baseURL, authorityHost: server.baseURL)
        let tokens = StaticTokens()
        let client = try GraphClient(configuration: .init(endpoints: endpoints, version: "test"), transport: transport, tokens: tokens,
                                     logger: .init(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let view = client.tenant("t")
        let first = try await view.fetchDeltaPage(resource: .users, link: view.initialDeltaURL(.users))
        let second = try await view.fetchDeltaPage(resource: .users, link: first.page.continuation.link)
        #expect(first.page.objects.first?.user.displayName == .value("A"))
        #expect(second.page.objects.first?.user.jobTitle == .null)
        #expect(second.page.isLastPage)
        #expect(server.requests.allSatisfy { $0.header("Authorization") == "Bearer loopback-token" && $0.header("Prefer") == "return=minimal, odata.maxpagesize=999" })
    }

    private static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }
}

struct StaticTokens: AccessTokenSource {
    let defaultClientID = "client"
    func token(for key: TokenKey) async throws -> AccessToken {
        AccessToken(value: "loopback-token", expiresOn: .distantFuture, issuedAt: .distantPast)
    }
    func invalidate(_ token: AccessToken, for key: TokenKey) {}
}
