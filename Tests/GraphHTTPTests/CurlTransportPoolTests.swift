import DirSyncCore
import DirSyncTestDoubles
import Foundation
import GraphHTTP
import Testing

@Suite("libcurl transport handle pool")
struct CurlTransportPoolTests {
    @Test("a request goes to an idle handle, never queued behind a slow transfer while another handle is free")
    func leastBusyHandleIsUsed() async throws {
        // The slow server holds its answer until the test has seen both quick answers. A quick request
        // queued behind it could only be answered after the hold ends, which then comes from the guard.
        let arrived = Gate(), release = Gate()
        let order = EventLog<String>()
        let slow = try LoopbackServer { _ in
            arrived.open()
            order.record(release.waitBlocking() ? "slow released by the test" : "slow released by the guard")
            return .raw(LoopbackServer.response(status: 200, body: Array("slow".utf8)))
        }
        let fast = try LoopbackServer { _ in .raw(LoopbackServer.response(status: 200, body: Array("fast".utf8))) }
        defer { release.open(); slow.stop(); fast.stop() }
        let transport = CurlTransport(configuration: .init(connections: 2))

        async let slowResponse = transport.send(HTTPRequest(url: slow.baseURL + "/slow"))
        try await arrived.wait(for: "the slow request to reach its server")  // it now occupies one handle
        // Two quick requests in a row: with round-robin the second would land on the busy handle.
        for _ in 0..<2 {
            let response = try await transport.send(HTTPRequest(url: fast.baseURL + "/fast"))
            #expect(response.status == 200)
            order.record("fast answered")
        }
        release.open()
        #expect(try await slowResponse.status == 200)
        #expect(order.events == ["fast answered", "fast answered", "slow released by the test"], "a quick request waited behind the slow one")
    }
}
