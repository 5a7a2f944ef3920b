import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `graph-sim` child process for end-to-end tests, with a small client for its control API.
package final class GraphSimProcess: Sendable {
    /// The simulator's base URL (serves Graph, the identity platform and `/_graphsim`).
    package let baseURL: String
    private let box: ProcessBox

    private final class ProcessBox: @unchecked Sendable {
        // Process is not Sendable; it is only started here and terminated in `stop`.
        let process: Process
        init(_ process: Process) { self.process = process }
    }

    package struct Failed: Error, CustomStringConvertible {
        package var description: String
    }

    /// The client id and secret graph-sim registers in generated tenants by default.
    package static let clientID = "11111111-2222-3333-4444-555555555555"
    package static let clientSecret = "graph-sim-secret"

    private init(baseURL: String, box: ProcessBox) {
        self.baseURL = baseURL
        self.box = box
    }

    deinit { stop() }

    /// Starts `graph-sim serve` with `arguments` on a free loopback port and waits until it listens.
    package static func start(_ arguments: [String]) async throws -> GraphSimProcess {
        let urlFile = FileManager.default.temporaryDirectory.appendingPathComponent("graph-sim-\(UUID().uuidString).url")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ProductRunner.path(of: "graph-sim"))
        process.arguments = ["serve", "--port", "0", "--max-lifetime", "900", "--url-file", urlFile.path, "--quiet"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: urlFile, encoding: .utf8), text.hasPrefix("http") {
                try? FileManager.default.removeItem(at: urlFile)
                return GraphSimProcess(baseURL: text.trimmingCharacters(in: .whitespacesAndNewlines), box: ProcessBox(process))
            }
            guard process.isRunning else { throw Failed(description: "graph-sim exited with status \(process.terminationStatus) before listening") }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw Failed(description: "graph-sim did not start listening within 60 s")
    }

    /// Ends the simulator.
    package func stop() {
        if box.process.isRunning { box.process.terminate() }
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
    @discardableResult
    package func request(_ method: String, _ path: String, json: Any? = nil) async throws -> Any {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
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
