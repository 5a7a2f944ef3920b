import DirSyncCore
import Foundation
import GraphHTTP
import Testing

@Suite("libcurl transport handle pool")
struct CurlTransportPoolTests {
    @Test("a request goes to an idle handle, never queued behind a slow transfer while another handle is free")
    func leastBusyHandleIsUsed() async throws {
        let slow = try LoopbackServer { _ in
            Thread.sleep(forTimeInterval: 1.5)
            return .raw(LoopbackServer.response(status: 200, body: Array("slow".utf8)))
        }
        let fast = try LoopbackServer { _ in .raw(LoopbackServer.response(status: 200, body: Array("fast".utf8))) }
        defer { slow.stop(); fast.stop() }
        let transport = CurlTransport(configuration: .init(connections: 2))

        async let slowResponse = transport.send(HTTPRequest(url: slow.baseURL + "/slow"))
        try await Task.sleep(for: .milliseconds(200))  // the slow transfer now occupies one handle
        let clock = ContinuousClock()
        let started = clock.now
        // Two quick requests in a row: with round-robin the second would land on the busy handle.
        for _ in 0..<2 {
            let response = try await transport.send(HTTPRequest(url: fast.baseURL + "/fast"))
            #expect(response.status == 200)
        }
        #expect(clock.now - started < .milliseconds(900), "a quick request waited behind the slow one")
        #expect(try await slowResponse.status == 200)
    }
}
