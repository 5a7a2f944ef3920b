import DirSyncCore
import Foundation
import Testing

@Suite("Status progress")
struct DomainStatusProgressTests {
    private func status(_ rows: [ProgressRecord]) -> DomainStatus {
        let now = Date(timeIntervalSince1970: 1_800_000_100)
        var facts = StatusFacts(domain: DomainRecord(domain: "contoso.example", tenantID: UUID()))
        facts.lockHeld = true
        facts.lastRun = RunRecord(runID: 7, startedAt: now.addingTimeInterval(-100), mode: "full", state: "running")
        facts.progress = rows
        return DomainStatus.from(facts, now: now)
    }

    private func row(_ resource: DirectoryResource, phase: ProgressPhase, objects: Int, total: Int?) -> ProgressRecord {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        return ProgressRecord(resource: resource, runID: 7, phase: phase, pages: 1, objects: objects, expectedTotal: total, startedAt: start, updatedAt: start)
    }

    @Test("a finished round without Graph's count counts as complete, so percent and ETA still show")
    func finishedRoundWithoutCount() throws {
        let progress = try #require(status([row(.users, phase: .fetch, objects: 500, total: 1_000), row(.groups, phase: .done, objects: 20, total: nil)]).progress)
        #expect(progress.percent == 51.0)  // (500 + 20) / (1000 + 20) = 50.98 %
        #expect(progress.etaSeconds != nil)
        #expect(progress.phase == "users")
    }

    @Test("an unfinished round without a count has no percent: there is nothing to measure against")
    func unfinishedRoundWithoutCount() throws {
        let progress = try #require(status([row(.users, phase: .fetch, objects: 500, total: nil), row(.groups, phase: .done, objects: 20, total: 20)]).progress)
        #expect(progress.percent == nil)
        #expect(progress.etaSeconds == nil)
        #expect(progress.objects == 520)
    }

    @Test("objects beyond Graph's count (duplicates, changes while paging) never push percent past 100")
    func percentIsCapped() throws {
        let progress = try #require(status([row(.users, phase: .fetch, objects: 1_200, total: 1_000)]).progress)
        #expect(progress.percent == 100)
    }
}
