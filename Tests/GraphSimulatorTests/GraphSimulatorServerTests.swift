import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GraphSimulator
import GraphSimulatorServer
import Testing

@Suite("Loopback server", .serialized)
struct GraphSimulatorServerTests {
    func small() -> GraphSimulator {
        var configuration = SimulatorConfiguration()
        configuration.spec = TenantSpec(users: 30, groups: 4, membersPerGroup: 4)
        return GraphSimulator(configuration: configuration)
    }

    func fetch(_ url: String, method: String = "GET", headers: [String: String] = [:], body: String? = nil) async throws -> (Int, Data, HTTPURLResponse) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if let body { request.httpBody = Data(body.utf8) }
        // Only a hang reaches this: a loaded machine may take long to answer, never this long.
        request.timeoutInterval = 300
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, data, http)
    }

    func token(_ base: String, _ simulator: GraphSimulator) async throws -> String {
        let (status, data, _) = try await fetch("\(base)/\(simulator.tenant(0).id)/oauth2/v2.0/token", method: "POST",
            headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: "grant_type=client_credentials&client_id=11111111-2222-3333-4444-555555555555&client_secret=graph-sim-secret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")
        #expect(status == 200)
        return try #require(JSONValue.parse([UInt8](data))["access_token"]?.stringValue)
    }

    @Test("serves token, delta pages with absolute links on its own base URL, and the control API over loopback HTTP")
    func servesOverHTTP() async throws {
        let simulator = small()
        let server = try await GraphSimulatorServer.start(simulator: simulator)
        #expect(server.baseURL.hasPrefix("http://127.0.0.1:"))
        let access = try await token(server.baseURL, simulator)
        let (status, data, response) = try await fetch("\(server.baseURL)/v1.0/users/delta?$select=displayName",
                                                       headers: ["Authorization": "Bearer \(access)"])
        #expect(status == 200)
        #expect(response.value(forHTTPHeaderField: "request-id") != nil)
        let page = try JSONValue.parse([UInt8](data))
        #expect(page["@odata.deltaLink"]?.stringValue?.hasPrefix(server.baseURL + "/v1.0/users/delta?$deltatoken=") == true)
        let (controlStatus, tenants, _) = try await fetch("\(server.baseURL)/_graphsim/tenants")
        #expect(controlStatus == 200)
        #expect(try JSONValue.parse([UInt8](tenants))["tenants"]?.arrayValue?.count == 1)
        await server.stop()
    }

    @Test("a truncated body and a connection reset reach the client as transport failures")
    func transportFaultsOnTheWire() async throws {
        let simulator = small()
        let server = try await GraphSimulatorServer.start(simulator: simulator)
        let access = try await token(server.baseURL, simulator)
        // Two drops: a client that reused a keep-alive connection may retry once on a fresh one.
        _ = try await fetch("\(server.baseURL)/_graphsim/faults", method: "POST", body: "{\"kind\":\"connectionReset\",\"count\":2}")
        await #expect(throws: (any Error).self) {
            _ = try await fetch("\(server.baseURL)/v1.0/users/delta", headers: ["Authorization": "Bearer \(access)"])
        }
        _ = try await fetch("\(server.baseURL)/_graphsim/faults", method: "POST", body: "{\"kind\":\"truncatedBody\"}")
        do {
            let (_, data, response) = try await fetch("\(server.baseURL)/v1.0/users/delta", headers: ["Authorization": "Bearer \(access)"])
            let promised = Int(response.value(forHTTPHeaderField: "Content-Length") ?? "") ?? 0
            #expect(data.count < promised, "the body must arrive short of its Content-Length")
        } catch {
            // URLSession reports the short body as a lost connection: also a transport failure.
        }
        let (status, _, _) = try await fetch("\(server.baseURL)/v1.0/users/delta", headers: ["Authorization": "Bearer \(access)"])
        #expect(status == 200)
        await server.stop()
    }

    @Test("a pause answers the first N matching requests, holds the next until it ends, and its long poll reports the hold")
    func pauseHoldsRequests() async throws {
        let simulator = small()
        let server = try await GraphSimulatorServer.start(simulator: simulator)
        let base = server.baseURL
        let access = try await token(base, simulator)
        let bearer = ["Authorization": "Bearer \(access)"]
        func state(_ data: Data) throws -> JSONValue { try JSONValue.parse([UInt8](data)) }

        let (set, _, _) = try await fetch("\(base)/_graphsim/pause", method: "POST", body: #"{"pathPrefix":"/v1.0/users/delta","after":1}"#)
        #expect(set == 200)
        #expect(try await fetch("\(base)/v1.0/users/delta", headers: bearer).0 == 200)
        let (_, idle, _) = try await fetch("\(base)/_graphsim/pause/wait?timeout=0")
        #expect(try state(idle)["held"]?.intValue == 0)

        let held = Task { try await fetch("\(base)/v1.0/users/delta", headers: bearer).0 }
        let (_, waited, _) = try await fetch("\(base)/_graphsim/pause/wait?timeout=60")
        #expect(try state(waited)["held"]?.intValue == 1)
        #expect(try state(waited)["passed"]?.intValue == 1)
        // Paths outside the prefix are not held, and the held request has not reached the simulator.
        #expect(try await fetch("\(base)/v1.0/groups/delta", headers: bearer).0 == 200)
        #expect(simulator.stats.byEndpoint["GET /v1.0/users/delta"] == 1)

        let (ended, after, _) = try await fetch("\(base)/_graphsim/pause", method: "DELETE")
        #expect(ended == 200)
        #expect(try state(after)["paused"]?.boolValue == false)
        #expect(try await held.value == 200)
        #expect(simulator.stats.byEndpoint["GET /v1.0/users/delta"] == 2)
        await server.stop()
    }

    @Test("refuses to listen on a non-loopback address")
    func refusesNonLoopback() async throws {
        await #expect(throws: GraphSimulatorServer.StartError.self) {
            _ = try await GraphSimulatorServer.start(simulator: small(), host: "0.0.0.0")
        }
    }

    @Test("POST /_graphsim/shutdown stops the server")
    func shutdownEndpoint() async throws {
        let server = try await GraphSimulatorServer.start(simulator: small())
        let (status, _, _) = try await fetch("\(server.baseURL)/_graphsim/shutdown", method: "POST")
        #expect(status == 200)
        await server.waitUntilStopped()
        await #expect(throws: (any Error).self) { _ = try await fetch("\(server.baseURL)/_graphsim/tenants") }
    }
}
