import DirSyncCore
import Testing

@Suite("Deletion guard")
struct DeletionGuardTests {
    @Test("the default limit is 20% or 500, whichever is smaller, never below 10", arguments: [
        (0, 10), (10, 10), (49, 10), (50, 10), (100, 20), (1_000, 200), (2_500, 500), (2_501, 500), (100_000, 500),
    ])
    func defaultLimit(objects: Int, limit: Int) {
        #expect(DeletionGuard().limit(tenantObjects: objects) == limit)
    }

    @Test("a round deleting more than the limit is halted with its numbers; at the limit it passes")
    func haltsAboveLimit() {
        let guardrail = DeletionGuard()
        #expect(guardrail.check(deletions: 200, tenantObjects: 1_000) == nil)
        let verdict = guardrail.check(deletions: 201, tenantObjects: 1_000)
        #expect(verdict == DeletionGuard.Verdict(deletions: 201, limit: 200, tenantObjects: 1_000))
        #expect(verdict?.message.contains("--allow-deletes") == true)
    }

    @Test("--allow-deletes lets any number through")
    func allowDeletes() {
        #expect(DeletionGuard(allowDeletes: true).check(deletions: 10_000, tenantObjects: 10_000) == nil)
    }

    @Test("a fixed per-run or per-domain limit replaces the percentage rule, including zero")
    func fixedLimit() {
        #expect(DeletionGuard(fixedLimit: 3).check(deletions: 4, tenantObjects: 1_000_000)?.limit == 3)
        #expect(DeletionGuard(fixedLimit: 0).check(deletions: 1, tenantObjects: 10) != nil)
        #expect(DeletionGuard(fixedLimit: 5000).check(deletions: 4000, tenantObjects: 5000) == nil)
    }
}
