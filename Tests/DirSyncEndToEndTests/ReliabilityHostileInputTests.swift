import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// End to end: objects PostgreSQL cannot store as Graph sent them must not block
/// the page they are on (a page that fails on every retry would stop the tenant's sync for good).
@Suite("hostile objects through the built binary", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ReliabilityHostileInputTests {
    @Test("a NUL inside a user's properties is stripped, the rest of the page is stored, and the sync completes")
    func nulDoesNotPoisonThePage() async throws {
        try await SyncHarness.with(["--users", "120", "--groups", "6", "--seed", "97", "--page-size", "50"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            let target = try await h.sim.truth(tenant: tenant).users[7].id
            try await h.sim.mutate(tenant: tenant, operations: [
                ["op": "updateUser", "id": target, "set": ["jobTitle": "Head\u{0}of\u{0}Things", "department": "R&D"]],
            ])
            let outcome = try await h.run()
            #expect(outcome.stderr.contains("nul-stripped"), "the diagnostic is logged")
            let row = try await h.connection.query("SELECT job_title, department FROM directory.users WHERE id = \(UUID(uuidString: target)!)").first
            #expect(try row?.optionalString("job_title") == "HeadofThings")
            // Everything else equals the tenant; the stripped title is the one expected difference.
            let differences = try await h.sim.truth(tenant: tenant).differences(from: h.connection, tenant: tenant)
            #expect(differences.count == 1 && differences.first?.contains(target) == true, "\(differences.prefix(4))")
        }
    }

    @Test("a user whose indexed properties are far beyond Graph's limits is skipped with a diagnostic and never blocks the other users")
    func oversizedIndexedValueDoesNotPoisonThePage() async throws {
        try await SyncHarness.with(["--users", "120", "--groups", "6", "--seed", "98", "--page-size", "50"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            try await h.run()
            let target = try await h.sim.truth(tenant: tenant).users[3].id
            var random = SplitMix64(seed: 98)
            let noise = String((0..<20_000).map { _ in Character(Unicode.Scalar(UInt8(97 + Int(random.next() % 26)))) })
            try await h.sim.mutate(tenant: tenant, operations: [["op": "updateUser", "id": target, "set": ["mail": noise + "@x.example"]]])
            try await h.sim.mutate(tenant: tenant, seed: 9800, count: 30)
            let outcome = try await h.run()
            #expect(outcome.stderr.contains("more than the 2000 PostgreSQL can index"), "the skipped user is reported")
            let differences = try await h.sim.truth(tenant: tenant).differences(from: h.connection, tenant: tenant)
            #expect(differences.allSatisfy { $0.contains(target) }, "only the oversized user may differ: \(differences.prefix(4))")
        }
    }
}
