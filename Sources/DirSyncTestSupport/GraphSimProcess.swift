import DirSyncTestDoubles
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `graph-sim` child process for end-to-end tests, with a small client for its control API.
package final class GraphSimProcess: Sendable {
    /// The simulator's base URL (serves Graph, the identity platform and `/_graphsim`).
    package let baseURL: String
    private let process: ChildProcess

    package struct Failed: Error, CustomStringConvertible {
        package var description: String
    }

    /// The client id and secret graph-sim registers in generated tenants by default.
    package static let clientID = "11111111-2222-3333-4444-555555555555"
    package static let clientSecret = "graph-sim-secret"

    private init(baseURL: String, process: ChildProcess) {
        self.baseURL = baseURL
        self.process = process
    }

    deinit { stop() }

    /// Starts `graph-sim serve` with `arguments` on a free loopback port and waits until it says it listens.
    package static func start(_ arguments: [String]) async throws -> GraphSimProcess {
        let prefix = "graph-sim listening on "
        // The lifetime only ends a simulator its test left behind; tests stop theirs.
        let process = try ChildProcess(try ProductRunner.path(of: "graph-sim"), ["serve", "--port", "0", "--max-lifetime", "3600", "--quiet"] + arguments,
                                       captureStandardError: false)
        do {
            let line = try await process.outputLine("graph-sim to listen") { $0.hasPrefix(prefix) }
            return GraphSimProcess(baseURL: String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces), process: process)
        } catch {
            process.send(SIGKILL)
            throw error
        }
    }

    /// Ends the simulator.
    package func stop() {
        process.send(SIGTERM)
    }

    /// The environment dirsync needs to use this simulator with the default app.
    package func environment(database: TestDatabase) -> [String: String?] {
        [
            "DATABASE_URL": database.connectionString, "DIRSYNC_GRAPH_URL": baseURL, "AZURE_AUTHORITY_HOST": baseURL,
            "AZURE_CLIENT_ID": Self.clientID, "AZURE_CLIENT_SECRET": Self.clientSecret,
            "AZURE_CLIENT_CERTIFICATE_PATH": nil, "AZURE_FEDERATED_TOKEN_FILE": nil, "AZURE_TENANT_ID": nil, "DIRSYNC_CLOUD": nil,
        ]
    }

    /// Sends a control-API request and returns the decoded JSON.
    /// - Parameter timeout: how long the simulator may take to answer (long for long polls).
    @discardableResult
    package func request(_ method: String, _ path: String, json: Any? = nil, timeout: TimeInterval = 120) async throws -> Any {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw Failed(description: "graph-sim \(method) \(path) answered \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return data.isEmpty ? [String: Any]() : try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    /// The generated tenants: id and domain names with their verification state.
    package func tenants() async throws -> [(id: UUID, domains: [(name: String, verified: Bool)])] {
        let json = try await request("GET", "/_graphsim/tenants") as? [String: Any]
        let tenants = json?["tenants"] as? [[String: Any]] ?? []
        return tenants.map { tenant in
            let domains = (tenant["domains"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0["isVerified"] as? Bool ?? false) }
            return (UUID(uuidString: tenant["id"] as? String ?? "")!, domains)
        }
    }

    /// Applies a seeded batch of random mutations to a tenant.
    package func mutate(tenant: UUID, seed: Int, count: Int) async throws {
        try await request("POST", "/_graphsim/tenants/\(tenant.uuidString.lowercased())/mutations", json: ["random": ["seed": seed, "count": count]])
    }

    /// Applies explicit mutation operations to a tenant.
    package func mutate(tenant: UUID, operations: [[String: Any]]) async throws {
        try await request("POST", "/_graphsim/tenants/\(tenant.uuidString.lowercased())/mutations", json: ["operations": operations])
    }

    /// Adds a fault rule.
    package func addFault(_ rule: [String: Any]) async throws {
        try await request("POST", "/_graphsim/faults", json: rule)
    }

    /// The request statistics.
    package func stats() async throws -> [String: Any] {
        try await request("GET", "/_graphsim/stats") as? [String: Any] ?? [:]
    }

    package func resetStats() async throws {
        try await request("POST", "/_graphsim/stats/reset")
    }

    /// The tenant's current state.
    package func truth(tenant: UUID) async throws -> DirectoryTruth {
        let json = try await request("GET", "/_graphsim/tenants/\(tenant.uuidString.lowercased())/truth")
        let data = try JSONSerialization.data(withJSONObject: json)
        return try DirectoryTruth(json: data)
    }
}

extension GraphSimProcess {
    /// Every access token the simulator has issued (`GET /_graphsim/tokens`), expired ones included.
    package func issuedAccessTokens() async throws -> [String] {
        let json = try await request("GET", "/_graphsim/tokens") as? [String: Any]
        return json?["accessTokens"] as? [String] ?? []
    }

    /// Sets per-tenant behaviour (`POST /_graphsim/tenants/{tid}/config`): permissions, consent, lifetimes, rates.
    package func configure(tenant: UUID, _ settings: [String: Any]) async throws {
        try await request("POST", "/_graphsim/tenants/\(tenant.uuidString.lowercased())/config", json: settings)
    }
}

extension GraphSimProcess {
    /// Answers the next `after` Graph requests under `pathPrefix`, then holds every later one unanswered
    /// (`POST /_graphsim/pause`), so a test acts at an exact point of a client's round.
    package func pause(after: Int, pathPrefix: String = "/v1.0/") async throws {
        try await request("POST", "/_graphsim/pause", json: ["after": after, "pathPrefix": pathPrefix])
    }

    /// Ends the pause; the requests it held go on (`DELETE /_graphsim/pause`).
    package func endPause() async throws {
        try await request("DELETE", "/_graphsim/pause")
    }

    /// Waits until the pause holds a request (a long poll of `GET /_graphsim/pause/wait`).
    package func waitUntilPaused() async throws {
        // Each long poll lasts up to a minute (under the server's limit on one answer); five of them
        // guard against a request that never comes.
        for _ in 0..<5 {
            try Task.checkCancellation()
            let state = try await request("GET", "/_graphsim/pause/wait?timeout=60", timeout: 90) as? [String: Any]
            if (state?["held"] as? Int ?? 0) > 0 { return }
        }
        throw EventTimeout(what: "graph-sim to hold a request", timeout: .seconds(300))
    }

    /// Waits until the pause holds a request of `running`, and fails if the process exits first.
    package func waitUntilPaused(_ running: ProductRunner.Running) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await self.waitUntilPaused(); return true }
            group.addTask { _ = try await running.process.exit(); return false }
            let paused = try await group.next() ?? false
            group.cancelAll()
            guard paused else {
                let outcome = try await running.finish()
                throw Failed(description: "\(running.process.commandLine) exited \(outcome.exitCode) before graph-sim held one of its requests: \(outcome.stderr.suffix(1500))")
            }
        }
    }
}
