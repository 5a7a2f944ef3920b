@testable import dirsync
import Foundation
import Testing

@Suite("Progress names tenants by their domains")
struct ProgressNameTests {
    private let tenant = UUID(uuidString: "72F988BF-86F1-41AF-91AB-2D7CD011DB47")!

    @Test("one domain names the tenant; several show the first (a customer's own before onmicrosoft.com) and how many more; none falls back to the id's start", arguments: [
        ([String](), "72f988bf"), (["contoso.com"], "contoso.com"), (["fabrikam.com", "contoso.com", "contoso.onmicrosoft.com"], "contoso.com +2"), (["a.onmicrosoft.com", "zeta.example"], "zeta.example +1"),
    ])
    func name(domains: [String], expected: String) {
        #expect(ProgressReporter.name(tenant: tenant, domains: domains) == expected)
    }
}
