import DirSyncCore
import Foundation
import GraphHTTP
import Logging
import Testing

@Suite("Building a production client from its settings")
struct GraphRuntimeTests {
    private let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    private let clientID = "11111111-2222-3333-4444-555555555555"

    @Test("a secret configuration yields a client bound to the configured Graph host")
    func secret() async throws {
        let credentials = GraphCredentialConfiguration(clientID: clientID, credential: .secret(Secret("hunter2")),
                                                       endpoints: GraphEndpoints(graphBaseURL: "http://127.0.0.1:9", authorityHost: "http://127.0.0.1:9"))
        let runtime = try await GraphRuntime.make(GraphRuntimeSettings(credentials: credentials), version: "0.1", logger: logger)
        #expect(runtime.client.tenant("t").initialDeltaURL(.users).hasPrefix("http://127.0.0.1:9/v1.0/users/delta"))
        #expect(runtime.tokens.defaultClientID == clientID)
        #expect(!"\(runtime.configuration)".contains("hunter2"))
    }

    @Test("a certificate path that does not exist fails at start-up with a configuration error naming it")
    func missingCertificate() async {
        do {
            let credentials = GraphCredentialConfiguration(clientID: clientID, credential: .certificate(path: "/nonexistent/dirsync.pem"))
            _ = try await GraphRuntime.make(GraphRuntimeSettings(credentials: credentials), version: "0.1", logger: logger)
            Issue.record("expected a configuration error")
        } catch let error as GraphError {
            #expect(error.code == .configuration)
            #expect(error.description.contains("/nonexistent/dirsync.pem"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
