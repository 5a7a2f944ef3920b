import DirSyncCore
import DirSyncTestDoubles
import Foundation
import GraphHTTP
import GraphSimulator
import GraphSimulatorServer
import InMemoryLogging
import Logging
import Synchronization
import Testing

/// One graph-sim served on 127.0.0.1:0 for one test, with the helpers the end-to-end tests share.
///
/// Simulator and clients share a ``ManualClock`` that starts at the wall clock's now: it moves only when
/// a client waits (a retry's wait is recorded, not slept) or a test advances it.
final class SimulatorHarness: Sendable {
    let simulator: GraphSimulator
    let server: RunningServer
    /// The clock of the simulator and, unless a test passes another, of its clients.
    let clock: ManualClock
    /// The app every generated tenant has installed.
    let clientID: String
    /// That app's client secret.
    let clientSecret: String

    var baseURL: String { server.baseURL }

    private init(simulator: GraphSimulator, server: RunningServer, clock: ManualClock, clientID: String, clientSecret: String) {
        self.simulator = simulator
        self.server = server
        self.clock = clock
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    /// Starts a simulator with one small tenant (several pages per round) unless `configure` says otherwise.
    /// - Parameter clock: the simulator's clock (token expiry, delta link age), shared with its clients.
    static func start(users: Int = 330, groups: Int = 24, pageSize: Int = 100, clock: ManualClock = ManualClock(Date()),
                      configure: (inout SimulatorConfiguration) -> Void = { _ in }) async throws -> SimulatorHarness {
        var configuration = SimulatorConfiguration()
        configuration.seed = 42
        configuration.spec = TenantSpec(users: users, groups: groups, membersPerGroup: 8)
        configuration.pageSize = pageSize
        // Pages as small as asked, even when the client prefers larger ones (dirsync asks for 999).
        configuration.maxPageSize = pageSize
        configuration.membersPerPage = 40
        configuration.clientSecret = "graph-sim-secret-\(UUID().uuidString.lowercased())"
        configure(&configuration)
        let simulator = GraphSimulator(configuration: configuration) { clock.now().timeIntervalSince1970 }
        let server = try await GraphSimulatorServer.start(simulator: simulator)
        return SimulatorHarness(simulator: simulator, server: server, clock: clock, clientID: configuration.clientId, clientSecret: configuration.clientSecret)
    }

    func stop() async { await server.stop() }

    /// Runs `body` against a fresh simulator and stops the server afterwards, whether `body` threw or not.
    static func with<Result>(users: Int = 330, groups: Int = 24, pageSize: Int = 100, clock: ManualClock = ManualClock(Date()),
                             configure: (inout SimulatorConfiguration) -> Void = { _ in },
                             _ body: (SimulatorHarness) async throws -> Result) async throws -> Result {
        let harness = try await start(users: users, groups: groups, pageSize: pageSize, clock: clock, configure: configure)
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }

    /// Retries soon (the simulator's faults are short); `Retry-After` is still honoured.
    static let fastRetries = RetryPolicy(maxAttempts: 8, baseDelay: 0.05, maxDelay: 0.4)

    /// A production client built by `GraphRuntime.make`, with Graph and the identity platform both at the simulator.
    /// - Parameter time: the client's clock; the simulator's ``clock`` when `nil`.
    func runtime(_ credential: ClientCredential, clientID: String? = nil, deadline: Date? = nil, time: (any TimeSource)? = nil,
                 logger: Logger) async throws -> GraphRuntime {
        let credentials = GraphCredentialConfiguration(clientID: clientID ?? self.clientID, credential: credential,
                                                       endpoints: GraphEndpoints(graphBaseURL: baseURL, authorityHost: baseURL))
        return try await GraphRuntime.make(GraphRuntimeSettings(credentials: credentials), version: "e2e", deadline: deadline,
                                     retryPolicy: Self.fastRetries, logger: logger, time: time ?? clock)
    }

    /// The first tenant (a snapshot).
    var tenant: Tenant { simulator.tenant(0) }

    /// Adds fault rules through the control API (in-process, no socket): JSON as `POST /_graphsim/faults` takes it.
    func addFaults(_ json: String) throws {
        let response = simulator.handle(SimRequest(method: "POST", path: "/_graphsim/faults", body: Array(json.utf8)))
        guard response.status == 200 else { throw HarnessError("fault rejected: \(response.text)") }
    }

    /// Changes tenant settings through the control API (`POST /_graphsim/tenants/0/config`).
    func configureTenant(_ json: String) throws {
        let response = simulator.handle(SimRequest(method: "POST", path: "/_graphsim/tenants/0/config", body: Array(json.utf8)))
        guard response.status == 200 else { throw HarnessError("config rejected: \(response.text)") }
    }

    /// Ids of the live users in the simulator's truth.
    var liveUserIDs: Set<UUID> {
        Set(tenant.users.filter { $0.lifecycle == .live }.compactMap { UUID(uuidString: $0.id) })
    }

    /// Ids of the live groups in the simulator's truth.
    var liveGroupIDs: Set<UUID> {
        Set(tenant.groups.filter { $0.lifecycle == .live }.compactMap { UUID(uuidString: $0.id) })
    }

    /// `group/member` pairs of the live groups in the simulator's truth.
    var memberships: Set<String> {
        let tenant = self.tenant
        var pairs: Set<String> = []
        for (index, group) in tenant.groups.enumerated() where group.lifecycle == .live {
            for ref in tenant.members[index] { pairs.insert("\(group.id.lowercased())/\(tenant.id(of: ref).lowercased())") }
        }
        return pairs
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What one delta round returned.
struct CollectedRound: Sendable {
    var userIDs: Set<UUID> = []
    var groupIDs: Set<UUID> = []
    var memberships: Set<String> = []
    var pages = 0
    var deltaLink = ""
}

enum DeltaRound {
    /// Follows a round from `link` (the initial URL by default) to its deltaLink, as the sync engine does
    /// (one ``DeltaRoundGuard`` per round), collecting live object ids and added memberships.
    /// - Parameter afterPage: runs after page `n` was fetched (to inject faults mid-round).
    static func collect(_ tenant: GraphTenantClient, _ resource: DirectoryResource, from link: String? = nil,
                        afterPage: (Int) async throws -> Void = { _ in }) async throws -> CollectedRound {
        var round = CollectedRound()
        var link = link ?? tenant.initialDeltaURL(resource)
        var roundGuard = DeltaRoundGuard(maxPages: 1000)
        while true {
            try roundGuard.visit(link)
            let (page, _) = try await tenant.fetchDeltaPage(resource: resource, link: link)
            switch page.resource {
            case .users:
                for user in page.objects where user.removed == nil { round.userIDs.insert(user.id) }
            case .groups:
                for group in page.objects where group.removed == nil {
                    round.groupIDs.insert(group.id)
                    for change in group.memberChanges where !change.removed {
                        round.memberships.insert("\(group.id.uuidString.lowercased())/\(change.memberID.uuidString.lowercased())")
                    }
                }
            case .contacts:
                break
            }
            round.pages += 1
            try await afterPage(round.pages)
            switch page.continuation {
            case .next(let next): link = next
            case .delta(let delta):
                round.deltaLink = delta
                return round
            }
        }
    }
}

/// A logger at trace level whose every line is kept, for secret scans and log assertions.
struct RecordingLog: Sendable {
    let handler: InMemoryLogHandler
    let logger: Logger

    init() {
        var handler = InMemoryLogHandler()
        handler.logLevel = .trace
        self.handler = handler
        var logger = Logger(label: "dirsync.test") { _ in handler }
        logger.logLevel = .trace
        self.logger = logger
    }

    /// Every entry rendered as one text line: level, message, metadata, error.
    var lines: [String] {
        handler.entries.map { entry in
            let metadata = entry.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let error = entry.error.map { " error=\(String(describing: $0)) debug=\(String(reflecting: $0))" } ?? ""
            return "\(entry.level) \(entry.message) \(metadata)\(error)"
        }
    }
}

/// A transport that records what went over the wire (request URL, headers, body) before handing the request
/// to libcurl, so tests can see the assertions the client built and where bearer tokens were sent.
final class TapTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let recorded = Mutex<[HTTPRequest]>([])

    init(_ inner: any HTTPTransport = CurlTransport()) { self.inner = inner }

    var requests: [HTTPRequest] { recorded.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        recorded.withLock { $0.append(request) }
        return try await inner.send(request)
    }

    /// The `client_assertion` values of every token request sent.
    var clientAssertions: [String] {
        requests.compactMap { request -> String? in
            guard let body = request.body else { return nil }
            for pair in String(decoding: body, as: UTF8.self).split(separator: "&") where pair.hasPrefix("client_assertion=") {
                return String(pair.dropFirst("client_assertion=".count)).removingPercentEncoding
            }
            return nil
        }
    }
}

/// Throwaway credentials on disk.
enum TestCredentials {
    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dirsync-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A self-signed RSA certificate made by the openssl CLI: the certificate PEM (to register in the simulator)
    /// and the path of a PEM holding certificate and key (for `AZURE_CLIENT_CERTIFICATE_PATH`).
    static func makeCertificate(in directory: URL) throws -> (certificatePEM: String, combinedPath: String) {
        let key = directory.appendingPathComponent("key-\(UUID().uuidString).pem").path
        let cert = directory.appendingPathComponent("cert-\(UUID().uuidString).pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                             "-days", "1", "-subj", "/CN=dirsync-test"]
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("openssl req failed with \(process.terminationStatus)") }
        let certificatePEM = try String(contentsOfFile: cert, encoding: .utf8)
        let combined = directory.appendingPathComponent("combined-\(UUID().uuidString).pem").path
        try (certificatePEM + (try String(contentsOfFile: key, encoding: .utf8))).write(toFile: combined, atomically: true, encoding: .utf8)
        return (certificatePEM, combined)
    }

    /// An (unsigned-looking) workload-identity token with the given claims; the simulator checks claims only.
    static func federatedJWT(issuer: String, subject: String, audience: String = "api://AzureADTokenExchange",
                             lifetime: TimeInterval = 3600) -> String {
        let now = Int(Date().timeIntervalSince1970)
        let header = #"{"alg":"RS256","typ":"JWT","kid":"e2e"}"#
        let claims = #"{"aud":["\#(audience)"],"iss":"\#(issuer)","sub":"\#(subject)","iat":\#(now),"nbf":\#(now),"exp":\#(now + Int(lifetime)),"jti":"\#(UUID().uuidString)"}"#
        let signature = (0..<64).map { _ in UInt8.random(in: 0...255) }
        return DirSyncCore.Base64URL.encode(Array(header.utf8)) + "." + DirSyncCore.Base64URL.encode(Array(claims.utf8)) + "." + DirSyncCore.Base64URL.encode(signature)
    }
}
