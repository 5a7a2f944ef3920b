import Foundation
import Logging

/// What the token provider presents to the identity platform.
public enum CredentialMaterial: Sendable {
    /// A client secret.
    case secret(Secret)
    /// A certificate: each token request carries a fresh assertion signed by `signer`.
    case certificate(any AssertionSigner)
    /// A workload-identity token file, re-read for every token request.
    case federatedTokenFile(path: String, reader: any CredentialFileReader)
}

/// The client-credentials token request and response.
public enum TokenRequest {
    /// The assertion type for certificate and federated credentials.
    public static let jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// The `application/x-www-form-urlencoded` body for a client-secret request.
    public static func secretBody(clientID: String, scope: String, secret: Secret) -> [UInt8] {
        form([("client_id", clientID), ("scope", scope), ("client_secret", secret.value), ("grant_type", "client_credentials")])
    }

    /// The body for a certificate or federated (client assertion) request.
    public static func assertionBody(clientID: String, scope: String, assertion: Secret) -> [UInt8] {
        form([("client_id", clientID), ("scope", scope), ("client_assertion_type", jwtBearerAssertionType),
              ("client_assertion", assertion.value), ("grant_type", "client_credentials")])
    }

    /// Reads a successful token response; `expires_in` is trusted, never assumed.
    /// - Returns: `nil` when the body lacks `access_token` or a positive `expires_in`.
    public static func parseResponse(_ bytes: [UInt8], now: Date) -> AccessToken? {
        guard let object = JSONValue.object(bytes), let value = object["access_token"] as? String, !value.isEmpty else { return nil }
        let expiresIn: Int?
        if let number = JSONValue.int(object["expires_in"]) { expiresIn = number }
        else if let text = object["expires_in"] as? String { expiresIn = Int(text) }
        else { expiresIn = nil }
        guard let expiresIn, expiresIn > 0 else { return nil }
        return AccessToken(value: value, expiresOn: now.addingTimeInterval(TimeInterval(expiresIn)), issuedAt: now)
    }

    /// Form-encodes pairs (RFC 3986 unreserved characters kept, everything else percent-encoded).
    static func form(_ pairs: [(String, String)]) -> [UInt8] {
        Array(pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&").utf8)
    }

    private static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// Fetches app-only tokens from the v2.0 token endpoint and caches one per (tenant, client).
///
/// A cached token is reused until 5 minutes (or 10 % of its lifetime) before it expires. Concurrent
/// requests for the same key share one token request. A token Graph rejected is dropped once via
/// ``invalidate(_:for:)``. Transient failures (5xx, 429, no response) are retried by ``RetryPolicy``.
public final class EntraTokenProvider: AccessTokenSource {
    public let defaultClientID: String
    private let endpoints: GraphEndpoints
    private let credential: CredentialMaterial
    private let transport: any HTTPTransport
    private let time: any TimeSource
    private let retry: RetryLoop
    private let assertions = ClientAssertionBuilder()
    private let state = Locked(State())

    private struct State {
        var cache: [TokenKey: AccessToken] = [:]
        var inFlight: [TokenKey: Task<AccessToken, any Error>] = [:]
        var requests = 0
    }

    /// - Parameters:
    ///   - clientID: the default application id.
    ///   - credential: the secret, signer or token file.
    ///   - endpoints: the authority host and Graph root (for the scope).
    ///   - transport: sends the token requests.
    ///   - time: clock and sleep.
    ///   - retryPolicy: for transient token-endpoint failures.
    ///   - deadline: the run's deadline: a token-endpoint `Retry-After` ending after it fails at once with
    ///     ``GraphError/Code/throttledBeyondDeadline`` instead of sleeping past the end of the run.
    ///   - logger: token requests are logged by tenant and client; tokens never are.
    public init(clientID: String, credential: CredentialMaterial, endpoints: GraphEndpoints, transport: any HTTPTransport,
                time: any TimeSource = SystemTimeSource(), retryPolicy: RetryPolicy = RetryPolicy(maxAttempts: 4),
                deadline: Date? = nil, logger: Logger) {
        self.defaultClientID = clientID
        self.credential = credential
        self.endpoints = endpoints
        self.transport = transport
        self.time = time
        self.retry = RetryLoop(policy: retryPolicy, time: time, deadline: deadline, random: { Double.random(in: 0..<1) }, logger: logger)
    }

    /// How many token requests were sent (for run records and tests).
    public var tokenRequestCount: Int { state.withLock { $0.requests } }

    public func token(for key: TokenKey) async throws -> AccessToken {
        let now = time.now()
        enum Lookup { case cached(AccessToken), pending(Task<AccessToken, any Error>) }
        let lookup: Lookup = state.withLock { state in
            if let cached = state.cache[key], cached.isFresh(at: now) { return .cached(cached) }
            if let running = state.inFlight[key] { return .pending(running) }
            let task = Task { [self] in try await self.fetch(key) }
            state.inFlight[key] = task
            return .pending(task)
        }
        let task: Task<AccessToken, any Error>
        switch lookup {
        case .cached(let token): return token
        case .pending(let pending): task = pending
        }
        do {
            let token = try await task.value
            state.withLock { state in
                state.inFlight[key] = nil
                if let existing = state.cache[key], existing.expiresOn >= token.expiresOn { return }
                state.cache[key] = token
            }
            return token
        } catch {
            state.withLock { $0.inFlight[key] = nil }
            throw error
        }
    }

    public func invalidate(_ token: AccessToken, for key: TokenKey) {
        state.withLock { state in
            if state.cache[key] == token { state.cache[key] = nil }
        }
    }

    private func fetch(_ key: TokenKey) async throws -> AccessToken {
        let url = endpoints.tokenURL(tenant: key.tenantID)
        let scope = endpoints.defaultScope
        return try await retry.run(URLRedaction.withoutQuery(url)) { _ in
            let body: [UInt8]
            switch credential {
            case .secret(let secret):
                body = TokenRequest.secretBody(clientID: key.clientID, scope: scope, secret: secret)
            case .certificate(let signer):
                if let notAfter = signer.certificateNotAfter, notAfter <= time.now() {
                    // Entra would refuse it with a vaguer AADSTS700027; say what is wrong before asking.
                    throw GraphError(code: .expiredCertificate,
                                     message: "the client certificate of application \(key.clientID) expired on \(CredentialHealth.format(notAfter)) (its notAfter)",
                                     fix: "create a new certificate, upload it to the app registration (Certificates & secrets) and point AZURE_CLIENT_CERTIFICATE_PATH at it")
                }
                let assertion = try await assertions.assertion(clientID: key.clientID, audience: url, now: time.now(), signer: signer)
                body = TokenRequest.assertionBody(clientID: key.clientID, scope: scope, assertion: assertion)
            case .federatedTokenFile(let path, let reader):
                let text = try await reader.read(path: path).trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else {
                    throw GraphError(code: .configuration, message: "the federated token file \(path) is empty",
                                     fix: "check the azure-identity-token volume mount and AZURE_FEDERATED_TOKEN_FILE")
                }
                if let expiry = JWTClaims.expiry(of: text), expiry <= time.now() {
                    throw GraphError(code: .expiredFederatedToken,
                                     message: "the federated token in \(path) expired at \(CredentialHealth.format(expiry, time: true))",
                                     fix: "the kubelet renews projected service-account tokens before they expire, so this file is stale: check the pod's azure-identity-token volume and AZURE_FEDERATED_TOKEN_FILE")
                }
                body = TokenRequest.assertionBody(clientID: key.clientID, scope: scope, assertion: Secret(text))
            }
            let request = HTTPRequest(method: "POST", url: url, headers: [
                ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
            ], body: body)
            state.withLock { $0.requests += 1 }
            let response: HTTPResponse
            do {
                response = try await transport.send(request)
            } catch let error as TransportError {
                return .failure(.transport(error), GraphError(code: .transport, message: "the token endpoint could not be reached: \(error.message)", url: url))
            }
            let now = time.now()
            if (200..<300).contains(response.status) {
                if let token = TokenRequest.parseResponse(response.body, now: now) { return .success(token) }
                return .failure(.malformedBody, GraphError(code: .tokenRequestFailed, status: response.status,
                                                           message: "the token endpoint's answer had no usable access_token/expires_in", url: url))
            }
            let error = GraphError.classifyToken(response: response, tenant: key.tenantID, clientID: key.clientID, url: url, now: now)
            return .failure(.status(response.status, retryAfter: error.retryAfter), error)
        }
    }
}
