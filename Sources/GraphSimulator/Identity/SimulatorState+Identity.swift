import Foundation

/// The identity platform: `POST /{tenant}/oauth2/v2.0/token` (client credentials) and OpenID configuration.
///
/// Assertions: a `client_assertion` whose `iss` equals `client_id` is a certificate assertion. Checked: `alg`
/// RS256/PS256, `x5t#S256` or `x5t` naming a certificate registered on the app, the signature (libcrypto),
/// `sub == iss == client_id`, `aud` = `<base>/{tenantId}/oauth2/v2.0/token` (the tenant segment used in the request
/// and `https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token` are accepted too), `exp` in the future,
/// `nbf` not more than 5 minutes ahead, and a `jti` not used before by that app. Any other assertion is federated:
/// `iss`, `sub` and `aud` must match one federated credential of the app exactly, `exp` must be in the future;
/// its signature is not verified (the simulator cannot reach the external issuer's keys).
///
/// App access (``AppRegistration/state`` and the credential states, changed through the control API): an app deleted
/// from the tenant is answered like one never installed (AADSTS700016, `unauthorized_client`), a disabled one with
/// AADSTS7000112 (`unauthorized_client`, "Application '{app id}'({name}) is disabled."), both before the credential is
/// looked at (graph-sim's choice of order: Entra does not document it). An expired secret that matches gives
/// AADSTS7000222 (`invalid_client`), a secret no longer registered AADSTS7000215; an expired certificate gives
/// AADSTS700027 with "[Reason - The key used is expired.]", a removed one AADSTS700027 "[Reason - The key was not found.]".
extension SimulatorState {
    mutating func identity(_ request: SimRequest, now: Double) -> SimResponse {
        let parts = request.path.split(separator: "/").map(String.init)
        if parts.count == 3, parts[1...] == ["v2.0", "adminconsent"], request.method == "GET" {
            return adminConsent(request, segment: parts[0], now: now)
        }
        guard parts.count == 4 else { return notFound() }
        let segment = parts[0]
        if parts[1...] == ["v2.0", ".well-known", "openid-configuration"], request.method == "GET" {
            guard let t = tenants.firstIndex(where: { $0.answers(to: segment) }) else {
                return tokenError(400, "invalid_tenant", 90002,
                                  "Tenant '\(segment)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", now: now)
            }
            return openIDConfiguration(t)
        }
        if parts[1...] == ["discovery", "v2.0", "keys"], request.method == "GET" {
            return SimResponse.json(200, Array("{\"keys\":[]}".utf8))
        }
        if parts[1...] == ["oauth2", "v2.0", "token"], request.method == "POST" {
            stats.tokenRequests += 1
            return token(request, segment: segment, now: now)
        }
        return notFound()
    }

    /// `GET /{tenant}/v2.0/adminconsent?client_id&scope&redirect_uri&state`: the admin's click, without the
    /// sign-in page. Grants every permission the app requests in the tenant (consent on, the four dirsync
    /// permissions added to what was granted before, as a re-consent does), installs the app again if it was
    /// deleted from the tenant (consent creates its service principal), and answers like Entra: a redirect to
    /// `redirect_uri` with `admin_consent=True`, `tenant` (the GUID) and `state`, or, without a redirect URI, a JSON
    /// body with the same fields.
    private mutating func adminConsent(_ request: SimRequest, segment: String, now: Double) -> SimResponse {
        guard let t = tenants.firstIndex(where: { $0.answers(to: segment) }) else {
            return tokenError(400, "invalid_tenant", 90002,
                              "Tenant '\(segment)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", now: now)
        }
        let clientId = request.queryValue("client_id")?.lowercased() ?? ""
        guard let app = tenants[t].apps.firstIndex(where: { $0.clientId.lowercased() == clientId }) else {
            return tokenError(400, "unauthorized_client", 700016,
                              "Application with identifier '\(clientId)' was not found in the directory '\(tenants[t].displayName)'.", now: now)
        }
        if tenants[t].apps[app].state == .deleted { tenants[t].apps[app].state = .enabled }
        tenants[t].settings.consent = true
        tenants[t].settings.permissions.formUnion(TenantSettings().permissions)
        let tenantId = tenants[t].id
        let state = request.queryValue("state")
        if let redirect = request.queryValue("redirect_uri"), var components = URLComponents(string: redirect) {
            var items = components.queryItems ?? []
            items.append(URLQueryItem(name: "admin_consent", value: "True"))
            items.append(URLQueryItem(name: "tenant", value: tenantId))
            if let state { items.append(URLQueryItem(name: "state", value: state)) }
            components.queryItems = items
            return SimResponse(status: 302, headers: [("Location", components.string ?? redirect)], body: [])
        }
        var w = JSONWriter()
        w.beginObject()
        w.string("True", key: "admin_consent")
        w.string(tenantId, key: "tenant")
        if let state { w.string(state, key: "state") }
        w.endObject()
        return SimResponse.json(200, w.bytes)
    }

    private func notFound() -> SimResponse {
        SimResponse.json(404, Array("{\"error\":\"not_found\",\"error_description\":\"No such endpoint.\"}".utf8))
    }

    /// `{"error","error_description":"AADSTSn: …","error_codes":[n],"timestamp","trace_id","correlation_id","error_uri"}`.
    mutating func tokenError(_ status: Int, _ error: String, _ code: Int, _ message: String, now: Double) -> SimResponse {
        let trace = newRequestId(), correlation = newRequestId()
        let timestamp = isoDate(now).replacingOccurrences(of: "T", with: " ") + "Z"
        var w = JSONWriter()
        w.beginObject()
        w.string(error, key: "error")
        w.string("AADSTS\(code): \(message) Trace ID: \(trace) Correlation ID: \(correlation) Timestamp: \(timestamp)", key: "error_description")
        w.beginArray("error_codes"); w.int(code); w.endArray()
        w.string(timestamp, key: "timestamp")
        w.string(trace, key: "trace_id")
        w.string(correlation, key: "correlation_id")
        w.string("https://login.microsoftonline.com/error?code=\(code)", key: "error_uri")
        w.endObject()
        return SimResponse.json(status, w.bytes, headers: [("Cache-Control", "no-store, no-cache")])
    }

    /// The SHA-1 thumbprint in the upper-case hex Entra prints, from its base64url form.
    static func hexThumbprint(_ x5t: String) -> String {
        (Base64URL.decode(x5t) ?? []).map { String(format: "%02X", $0) }.joined()
    }

    static func parseForm(_ body: [UInt8]) -> [String: String] {
        var form: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            form[decode(kv[0])] = kv.count > 1 ? decode(kv[1]) : ""
        }
        return form
    }

    private mutating func token(_ request: SimRequest, segment: String, now: Double) -> SimResponse {
        guard let t = tenants.firstIndex(where: { $0.answers(to: segment) }) else {
            return tokenError(400, "invalid_request", 90002,
                              "Tenant '\(segment)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", now: now)
        }
        let tenant = tenants[t]
        var form = Self.parseForm(request.body)
        if let auth = request.headers["authorization"], auth.lowercased().hasPrefix("basic "),
           let decoded = Base64URL.decode(auth.dropFirst(6).trimmingCharacters(in: .whitespaces)) {
            let pair = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            if pair.count == 2 {
                form["client_id"] = String(pair[0]).removingPercentEncoding ?? String(pair[0])
                form["client_secret"] = String(pair[1]).removingPercentEncoding ?? String(pair[1])
            }
        }
        guard let grant = form["grant_type"] else {
            return tokenError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.", now: now)
        }
        guard grant == "client_credentials" else {
            return tokenError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '\(grant)'.", now: now)
        }
        guard let clientId = form["client_id"]?.lowercased(), !clientId.isEmpty else {
            return tokenError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.", now: now)
        }
        guard let scope = form["scope"], !scope.isEmpty else {
            return tokenError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.", now: now)
        }
        let scopes = scope.split(separator: " ")
        guard scopes.count == 1, scope.hasSuffix("/.default") else {
            return tokenError(400, "invalid_scope", 70011,
                              "The provided value for the input parameter 'scope' is not valid. The scope \(scope) is not valid.", now: now)
        }
        let resource = String(scope.dropLast("/.default".count))
        guard ["https://graph.microsoft.com", baseURL, "00000003-0000-0000-c000-000000000000"].contains(resource) else {
            return tokenError(400, "invalid_resource", 500011,
                              "The resource principal named \(resource) was not found in the tenant named \(tenant.displayName).", now: now)
        }
        guard let app = tenant.apps.first(where: { $0.clientId.lowercased() == clientId }), app.state != .deleted else {
            return tokenError(400, "unauthorized_client", 700016,
                              "Application with identifier '\(clientId)' was not found in the directory '\(tenant.displayName)'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", now: now)
        }
        guard app.state != .disabled else {
            return tokenError(400, "unauthorized_client", 7000112, "Application '\(app.clientId)'(\(app.displayName)) is disabled.", now: now)
        }
        if let secret = form["client_secret"] {
            guard app.secretState != .removed, app.secrets.contains(secret) else {
                return tokenError(401, "invalid_client", 7000215,
                                  "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(clientId)'.", now: now)
            }
            guard app.secretState != .expired else {
                return tokenError(401, "invalid_client", 7000222,
                                  "The provided client secret keys for app '\(clientId)' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", now: now)
            }
        } else if let assertion = form["client_assertion"] {
            guard form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" else {
                return tokenError(400, "invalid_request", 50027,
                                  "client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.", now: now)
            }
            if let failure = checkAssertion(assertion, app: app, tenant: tenant, segment: segment, now: now) { return failure }
        } else {
            return tokenError(401, "invalid_client", 7000218,
                              "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", now: now)
        }
        let lifetime = config.tokenLifetime
        let roles = tenant.settings.consent ? tenant.settings.permissions : []
        let accessToken = Self.accessToken(tenant: tenant.id, clientId: clientId, roles: roles, now: now, lifetime: lifetime)
        tokens[accessToken] = IssuedToken(tenant: t, clientId: clientId, expiresAt: now + Double(lifetime), roles: roles)
        stats.tokensIssued += 1
        var w = JSONWriter()
        w.beginObject()
        w.string("Bearer", key: "token_type")
        w.int(lifetime, key: "expires_in")
        w.int(lifetime, key: "ext_expires_in")
        w.string(accessToken, key: "access_token")
        w.endObject()
        return SimResponse.json(200, w.bytes, headers: [("Cache-Control", "no-store, no-cache")])
    }

    /// An app-only access token shaped like Entra's: a JWT whose claims carry `aud`, `iss`, `tid`, `appid`,
    /// `idtyp: app` and, when any permission was consented, `roles` (Entra omits the claim without consent).
    /// The signature is random bytes: Graph requests are authorised by looking the token up, never by verifying it.
    static func accessToken(tenant: String, clientId: String, roles: Set<String>, now: Double, lifetime: Int) -> String {
        var system = SystemRandomNumberGenerator()
        func randomBytes(_ words: Int) -> [UInt8] {
            var raw: [UInt8] = []
            for _ in 0..<words { withUnsafeBytes(of: system.next()) { raw.append(contentsOf: $0) } }
            return raw
        }
        var header = JSONWriter()
        header.beginObject()
        header.string("JWT", key: "typ"); header.string("RS256", key: "alg"); header.string("graph-sim", key: "kid")
        header.endObject()
        var claims = JSONWriter()
        claims.beginObject()
        claims.string("https://graph.microsoft.com", key: "aud")
        claims.string("https://sts.windows.net/\(tenant)/", key: "iss")
        claims.int(Int(now), key: "iat"); claims.int(Int(now), key: "nbf"); claims.int(Int(now) + lifetime, key: "exp")
        claims.string(clientId, key: "appid")
        claims.string("app", key: "idtyp")
        if !roles.isEmpty { claims.strings(roles.sorted(), key: "roles") }
        claims.string(tenant, key: "tid")
        claims.string(Base64URL.encode(randomBytes(2)), key: "uti")
        claims.string("1.0", key: "ver")
        claims.endObject()
        return [header.bytes, claims.bytes, randomBytes(4)].map(Base64URL.encode).joined(separator: ".")
    }

    private mutating func checkAssertion(_ text: String, app: AppRegistration, tenant: Tenant, segment: String, now: Double) -> SimResponse? {
        guard let jwt = JWT(text) else {
            return tokenError(400, "invalid_request", 50027, "JWT token is invalid or malformed.", now: now)
        }
        let iss = jwt.claims["iss"]?.stringValue ?? ""
        let sub = jwt.claims["sub"]?.stringValue ?? ""
        let audiences: [String] = jwt.claims["aud"]?.stringValue.map { [$0] } ?? jwt.claims["aud"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard let exp = jwt.claims["exp"]?.doubleValue else {
            return tokenError(400, "invalid_request", 50027, "JWT token is invalid or malformed. [Reason - The 'exp' claim is missing.]", now: now)
        }
        guard exp > now, (jwt.claims["nbf"]?.doubleValue ?? 0) <= now + 300 else {
            return tokenError(400, "invalid_client", 700024, "Client assertion is not within its valid time range.", now: now)
        }
        if iss.lowercased() == app.clientId.lowercased() {
            guard sub.lowercased() == iss.lowercased() else {
                return tokenError(400, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.", now: now)
            }
            let accepted = Set([segment, tenant.id].flatMap { [baseURL + "/\($0)/oauth2/v2.0/token", "https://login.microsoftonline.com/\($0)/oauth2/v2.0/token"] })
            guard audiences.count == 1, accepted.contains(audiences[0]) else {
                return tokenError(400, "invalid_client", 50027,
                                  "JWT token is invalid or malformed. [Reason - The audience claim is not '\(baseURL)/\(tenant.id)/oauth2/v2.0/token'.]", now: now)
            }
            guard let jti = jwt.claims["jti"]?.stringValue, !jti.isEmpty else {
                return tokenError(400, "invalid_request", 50027, "JWT token is invalid or malformed. [Reason - The 'jti' claim is missing.]", now: now)
            }
            let alg = jwt.header["alg"]?.stringValue ?? ""
            let s256 = jwt.header["x5t#S256"]?.stringValue
            let s1 = jwt.header["x5t"]?.stringValue
            guard s256 != nil || s1 != nil else {
                return tokenError(401, "invalid_client", 700027,
                                  "Client assertion failed signature validation. [Reason - The header carries neither 'x5t#S256' nor 'x5t'.]", now: now)
            }
            guard app.certificateState != .removed, let certificate = app.certificates.first(where: { $0.x5tS256 == s256 || $0.x5t == s1 }) else {
                return tokenError(401, "invalid_client", 700027,
                                  "Client assertion failed signature validation. [Reason - The key was not found.] The certificate with the thumbprint in the header is not registered on application '\(app.clientId)'.", now: now)
            }
            guard app.certificateState != .expired else {
                return tokenError(401, "invalid_client", 700027,
                                  "Client assertion failed signature validation. [Reason - The key used is expired.] The certificate with thumbprint '\(Self.hexThumbprint(certificate.x5t))' registered on application '\(app.clientId)' is past its end date.", now: now)
            }
            guard CertificateCrypto.verify(signingInput: jwt.signingInput, signature: jwt.signature, algorithm: alg, certificatePEM: certificate.pem) else {
                return tokenError(401, "invalid_client", 700027, "Client assertion failed signature validation.", now: now)
            }
            let replayKey = app.clientId + "|" + jti
            guard !usedAssertionIds.contains(replayKey) else {
                return tokenError(400, "invalid_client", 50027, "JWT token is invalid or malformed. [Reason - The 'jti' was already used.]", now: now)
            }
            usedAssertionIds.insert(replayKey)
            return nil
        }
        let matched = app.federated.contains { credential in
            credential.issuer == iss && credential.subject == sub && audiences.contains(credential.audience)
        }
        guard matched else {
            return tokenError(400, "invalid_client", 70021,
                              "No matching federated identity record found for presented assertion. Assertion Issuer: '\(iss)'. Assertion Subject: '\(sub)'. Assertion Audience: '\(audiences.joined(separator: ","))'.", now: now)
        }
        return nil
    }

    private func openIDConfiguration(_ t: Int) -> SimResponse {
        let id = tenants[t].id
        let root = baseURL + "/" + id
        var w = JSONWriter()
        w.beginObject()
        w.string(root + "/oauth2/v2.0/token", key: "token_endpoint")
        w.strings(["client_secret_post", "private_key_jwt", "client_secret_basic"], key: "token_endpoint_auth_methods_supported")
        w.string(root + "/discovery/v2.0/keys", key: "jwks_uri")
        w.strings(["query", "fragment", "form_post"], key: "response_modes_supported")
        w.strings(["pairwise"], key: "subject_types_supported")
        w.strings(["RS256"], key: "id_token_signing_alg_values_supported")
        w.strings(["code", "id_token", "code id_token", "id_token token"], key: "response_types_supported")
        w.strings(["openid", "profile", "email", "offline_access"], key: "scopes_supported")
        w.string(root + "/v2.0", key: "issuer")
        w.bool(true, key: "request_uri_parameter_supported")
        w.string(baseURL + "/oidc/userinfo", key: "userinfo_endpoint")
        w.string(root + "/oauth2/v2.0/authorize", key: "authorization_endpoint")
        w.string(root + "/oauth2/v2.0/devicecode", key: "device_authorization_endpoint")
        w.bool(true, key: "http_logout_supported")
        w.bool(true, key: "frontchannel_logout_supported")
        w.string(root + "/oauth2/v2.0/logout", key: "end_session_endpoint")
        w.string("NA", key: "tenant_region_scope")
        w.string("microsoftonline.com", key: "cloud_instance_name")
        w.string("2.0", key: "cloud_graph_host_name")
        w.string("graph.microsoft.com", key: "msgraph_host")
        w.endObject()
        return SimResponse.json(200, w.bytes)
    }
}
