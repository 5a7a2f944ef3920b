@testable import DirSyncCore
import DirSyncTestDoubles

import Foundation
import Synchronization
import Testing

@Suite("Page prefetcher (fetching ahead of the writer)")
struct PagePrefetcherTests {
    static func pages(_ count: Int, usersPerPage: Int = 2) -> [[ObjectChange]] {
        (0..<count).map { _ in (0..<usersPerPage).map { _ in ObjectChange.user( UUID()) } }
    }

    static func prefetcher(_ source: ScriptedDeltaSource, maxPages: Int = 16, maxBytes: Int = 1_000_000) throws -> PagePrefetcher {
        var roundGuard = DeltaRoundGuard()
        try roundGuard.visit(ScriptedDeltaSource.link(0))
        return PagePrefetcher(source: source, resource: .users, link: ScriptedDeltaSource.link(0), roundGuard: roundGuard, maxPages: maxPages, maxBytes: maxBytes)
    }

    /// Waits until `condition` holds (the producer runs on its own task).
    static func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<2_000 where !condition() { try await Task.sleep(nanoseconds: 1_000_000) }
    }

    @Test("pages come out in Graph's order, every page once, and the round ends after the deltaLink page")
    func deliversEveryPageInOrder() async throws {
        let script = Self.pages(40)
        let source = ScriptedDeltaSource(pages: script)
        let prefetcher = try Self.prefetcher(source, maxPages: 3)
        defer { prefetcher.cancel() }
        var seen: [UUID] = []
        while true {
            let batch = try await prefetcher.take()
            #expect(!batch.isEmpty && batch.count <= 3)
            for fetched in batch {
                let page = fetched.page
                seen += page.objects.map(\.id)
            }
            if batch.last?.page.continuation.isDelta == true { break }
        }
        #expect(seen == script.flatMap { $0.map(\.id) })
        #expect(source.fetchedLinks.count == 40)
    }

    @Test("the next page is requested as soon as a page's link is known, before its objects are read")
    func nextRequestOverlapsReading() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(3), readWaitsForNextRequest: true)
        let prefetcher = try Self.prefetcher(source)
        defer { prefetcher.cancel() }
        try await Self.eventually { source.log.count == 6 }
        #expect(source.log == ["fetch 0", "fetch 1", "read 0", "fetch 2", "read 1", "read 2"])
    }

    @Test("no more than one transaction's pages are held ahead of the writer, so memory does not grow with the tenant")
    func fetchesAtMostOneTransactionAhead() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(100))
        let prefetcher = try Self.prefetcher(source, maxPages: 5)
        defer { prefetcher.cancel() }
        try await Self.eventually { source.fetchedLinks.count >= 7 }
        try await Task.sleep(nanoseconds: 50_000_000)
        // Five waiting, one fetched page waiting for room, and the request for the page after it.
        #expect(source.fetchedLinks.count == 7)
        let batch = try await prefetcher.take()
        #expect(batch.count == 5)
        try await Self.eventually { source.fetchedLinks.count >= 12 }
        try await Task.sleep(nanoseconds: 50_000_000)
        #expect(source.fetchedLinks.count == 12)
    }

    @Test("no more than one transaction's bytes are held ahead: fetching pauses once the byte limit is reached")
    func fetchesAtMostTheByteLimitAhead() async throws {
        // 1,000-byte pages against a 3,500-byte limit.
        let source = ScriptedDeltaSource(pages: Self.pages(100, usersPerPage: 10))
        let prefetcher = try Self.prefetcher(source, maxPages: 50, maxBytes: 3_500)
        defer { prefetcher.cancel() }
        try await Self.eventually { source.fetchedLinks.count >= 6 }
        try await Task.sleep(nanoseconds: 50_000_000)
        // Four pages (4,000 bytes) reach the limit; the fifth waits for room, the sixth is requested.
        #expect(source.fetchedLinks.count == 6)
        #expect(try await prefetcher.take().count == 3)
    }

    @Test("a batch stops before the page that would pass the byte limit, but always holds at least one page")
    func batchesRespectTheByteLimit() async throws {
        let source = ScriptedDeltaSource(pages: [Self.pages(1, usersPerPage: 50)[0]] + Self.pages(9, usersPerPage: 10))
        let prefetcher = try Self.prefetcher(source, maxPages: 2, maxBytes: 3_000)
        defer { prefetcher.cancel() }
        try await Self.eventually { source.fetchedLinks.count >= 2 }
        let first = try await prefetcher.take()
        #expect(first.map(\.bytes) == [5_000])
        try await Self.eventually { source.fetchedLinks.count >= 4 }
        try await Task.sleep(nanoseconds: 20_000_000)
        let second = try await prefetcher.take()
        #expect(second.map(\.bytes) == [1_000, 1_000])
    }

    @Test("pages fetched before a failure are handed over first; the failure comes after them")
    func failureFollowsTheEarlierPages() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(6), failAt: 3)
        let prefetcher = try Self.prefetcher(source)
        defer { prefetcher.cancel() }
        try await Self.eventually { source.fetchedLinks.count == 4 }
        let batch = try await prefetcher.take()
        #expect(batch.count == 3)
        await #expect(throws: GraphError.self) { try await prefetcher.take() }
    }

    @Test("a page whose nextLink repeats an earlier link is not handed over, so the loop's link is never stored")
    func refusedNextLinkKeepsItsPage() async throws {
        // Page 2 links back to page 1.
        let source = ScriptedDeltaSource(pages: Self.pages(5), nextLinkOf: { $0 == 2 ? ScriptedDeltaSource.link(1) : ScriptedDeltaSource.link($0 + 1) })
        let prefetcher = try Self.prefetcher(source)
        defer { prefetcher.cancel() }
        try await Self.eventually { source.fetchedLinks.count == 3 }
        let batch = try await prefetcher.take()
        #expect(batch.count == 2)
        await #expect(throws: GraphError.self) { try await prefetcher.take() }
    }

    @Test("once cancelled, nothing is handed out, not even a round's last page already fetched")
    func cancelAfterTheLastPageThrows() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(1))
        let prefetcher = try Self.prefetcher(source)
        try await Self.eventually { source.fetchedLinks.count == 1 }
        try await Task.sleep(nanoseconds: 20_000_000)
        prefetcher.cancel()
        await #expect(throws: CancellationError.self) { try await prefetcher.take() }
    }

    @Test("cancelling stops fetching and wakes a writer waiting for a page")
    func cancelStopsFetching() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(100))
        let prefetcher = try Self.prefetcher(source, maxPages: 2)
        try await Self.eventually { source.fetchedLinks.count >= 3 }
        prefetcher.cancel()
        let fetched = source.fetchedLinks.count
        try await Task.sleep(nanoseconds: 50_000_000)
        #expect(source.fetchedLinks.count == fetched)
        await #expect(throws: CancellationError.self) { try await prefetcher.take() }
    }
}

extension DeltaContinuation {
    fileprivate var isDelta: Bool {
        if case .delta = self { return true }
        return false
    }
}
