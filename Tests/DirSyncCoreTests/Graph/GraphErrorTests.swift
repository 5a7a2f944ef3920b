import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

@Suite("Graph error classification")
struct GraphErrorTests {
    private let now = Date(timeIntervalSince1970: 1_750_000_000)
    private let url = "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=SECRETSTATE"

    private func classify(_ status: Int, _ body: String, operation: GraphOperation = .delta(.users), headers: [(name: String, value: String)] = []) -> GraphError {
        GraphError.classify(response: Fixture.json(status, body, headers: headers), operation: operation, url: url, now: now)
    }

    @Test("sync state loss means resync: 410 alone, or 400 with syncStateNotFound/resyncRequired in any casing and nesting", arguments: [
        (410, #"{"error":{"code":"Gone","message":"x"}}"#),
        (410, ""),
        (400, #"{"error":{"code":"syncStateNotFound","message":"x"}}"#),
        (400, #"{"error":{"code":"SyncStateNotFound","message":"x"}}"#),
        (400, #"{"error":{"code":"badRequest","innerError":{"code":"resyncRequired"}}}"#),
        (400, #"{"error":{"code":"badRequest","innererror":{"code":"x","innererror":{"code":"RESYNCREQUIRED"}}}}"#),
    ])
    func resync(status: Int, body: String) {
        let error = classify(status, body)
        #expect(error.code == .resyncRequired)
        #expect(error.requiresResync)
    }

    @Test("a plain 400 is a bad request, not a resync")
    func plainBadRequest() {
        #expect(classify(400, #"{"error":{"code":"Request_BadRequest","message":"Invalid filter"}}"#).code == .badRequest)
    }

    @Test("a 400 naming an unknown property says which, for which object type, and which setting to fix; a configuration failure of the tenant")
    func unknownProperty() {
        let body = #"{"error":{"code":"Request_BadRequest","message":"Could not find a property named 'preferedLanguage' on type 'Microsoft.DirectoryServices.User'."}}"#
        let users = classify(400, body)
        #expect(users.code == .unknownProperty)
        #expect(users.description.contains("'preferedLanguage' of users") && users.description.contains("DIRSYNC_USER_PROPERTIES (or --user-properties)"))
        #expect(SyncFailure.classify(users).kind == .configuration)
        let groups = classify(400, body.replacingOccurrences(of: "User", with: "Group"), operation: .delta(.groups))
        #expect(groups.description.contains("DIRSYNC_GROUP_PROPERTIES"))
        let contract = classify(400, body.replacingOccurrences(of: "preferedLanguage", with: "employeeId"))
        #expect(contract.code == .unknownProperty && !contract.description.contains("DIRSYNC_USER_PROPERTIES"))
    }

    @Test("429 is throttled and keeps the fractional Retry-After and request id")
    func throttled() {
        let error = classify(429, #"{"error":{"code":"TooManyRequests","message":"x","innerError":{"request-id":"req-1"}}}"#,
                             headers: [("Retry-After", "2.128")])
        #expect(error.code == .throttled)
        #expect(error.retryAfter == 2.128)
        #expect(error.requestID == "req-1")
        #expect(error.serverCode == "TooManyRequests")
    }

    @Test("request-id header wins over the body's innerError request-id")
    func requestIDHeader() {
        let error = classify(404, #"{"error":{"code":"Request_ResourceNotFound","innerError":{"request-id":"body-id"}}}"#, headers: [("request-id", "header-id")])
        #expect(error.code == .notFound)
        #expect(error.requestID == "header-id")
    }

    @Test("401 InvalidAuthenticationToken is unauthorized")
    func unauthorized() {
        #expect(classify(401, #"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}"#).code == .unauthorized)
    }

    @Test("403 names the permission the request needed and the admin-consent fix", arguments: [
        (GraphOperation.delta(.users), "User.Read.All"),
        (GraphOperation.delta(.groups), "GroupMember.Read.All"),
        (GraphOperation.domain, "Directory.Read.All"),
        (GraphOperation.count(.groups), "Group.Read.All"),
    ])
    func forbidden(operation: GraphOperation, permission: String) {
        let error = classify(403, #"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"r"}}}"#, operation: operation)
        #expect(error.code == .permissionMissing)
        #expect(error.message.contains(permission))
        #expect(error.description.contains("grant admin consent"))
        #expect(error.description.contains("User.Read.All, Group.Read.All, GroupMember.Read.All, Directory.Read.All"))
    }

    @Test("server errors, 501 and odd statuses map to their kinds", arguments: [
        (500, GraphError.Code.serverError), (502, .serverError), (503, .serverError), (504, .serverError),
        (501, .badRequest), (409, .badRequest), (302, .unexpectedStatus),
    ])
    func otherStatuses(status: Int, code: GraphError.Code) {
        #expect(classify(status, "not json").code == code)
    }

    @Test("the description drops the URL's query (delta tokens) and the server message")
    func descriptionIsSafe() {
        let error = classify(400, #"{"error":{"code":"x","message":"server text with SECRETSTATE"}}"#)
        #expect(!error.description.contains("SECRETSTATE"))
        #expect(error.description.contains("https://graph.microsoft.com/v1.0/users/delta"))
        #expect(error.debugDescription.contains("server text"))
    }

    @Test("the innermost recognised code is the server code; both innerError spellings are walked")
    func innermostCode() throws {
        let body = try #require(GraphErrorBody(bytes: Fixture.bytes(#"{"error":{"code":"a","innerError":{"code":"b","innererror":{"code":"c","request-id":"r"}}}}"#)))
        #expect(body.codes == ["a", "b", "c"])
        #expect(body.requestID == "r")
        #expect(GraphErrorBody(bytes: Fixture.bytes("[]")) == nil)
    }

    private func token(_ status: Int, _ codes: [Int], error: String = "invalid_client") -> GraphError {
        let body = #"{"error":"\#(error)","error_description":"AADSTS\#(codes.first ?? 0): text","error_codes":\#(codes),"trace_id":"trace-1"}"#
        return GraphError.classifyToken(response: Fixture.json(status, body), tenant: "contoso.onmicrosoft.com",
                                        clientID: "11111111-2222-3333-4444-555555555555", url: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", now: now)
    }

    @Test("token-endpoint AADSTS codes map to one operator message each", arguments: [
        (700016, GraphError.Code.appNotInTenant, "admin consent"),
        (7000215, .invalidClientSecret, "AZURE_CLIENT_SECRET"),
        (7000222, .expiredClientSecret, "new client secret"),
        (700027, .invalidCertificate, "AZURE_CLIENT_CERTIFICATE_PATH"),
        (70021, .federatedCredentialMismatch, "issuer"),
        (90002, .unknownTenant, "cloud"),
        (7000218, .credentialNotSent, "AZURE_FEDERATED_TOKEN_FILE"),
        (50196, .tokenRequestLoop, "caches tokens"),
        (53003, .conditionalAccess, "Conditional Access"),
        (90094, .adminConsentRequired, "Directory.Read.All"),
        (70011, .invalidScope, "DIRSYNC_GRAPH_URL"),
    ])
    func tokenErrors(code: Int, kind: GraphError.Code, fixMentions: String) {
        let error = token(400, [code])
        #expect(error.code == kind)
        #expect(error.serverCode == "AADSTS\(code)")
        #expect(error.requestID == "trace-1")
        #expect(error.description.contains(fixMentions))
        #expect(!error.description.contains("text"))
    }

    @Test("without error_codes the AADSTS number is read from the description, then the OAuth class")
    func tokenFallbacks() {
        let fromText = GraphError.classifyToken(response: Fixture.json(401, #"{"error":"invalid_client","error_description":"AADSTS7000222: expired"}"#),
                                                tenant: "t", clientID: "c", url: "https://login/x", now: now)
        #expect(fromText.code == .expiredClientSecret)
        #expect(token(400, [], error: "unauthorized_client").code == .appNotInTenant)
        #expect(token(500, [], error: "temporarily_unavailable").code == .tokenRequestFailed)
    }
}
