@testable import DirSyncCore
import DirSyncTestDoubles

import Foundation
import Testing

@Suite("Page prefetcher (fetching ahead of the writer)")
struct PagePrefetcherTests {
    static func pages(_ count: Int, usersPerPage: Int = 2) -> [[ObjectChange]] {
        (0..<count).map { _ in (0..<usersPerPage).map { _ in ObjectChange.user( UUID()) } }
    }

    /// What the prefetcher reported, for the tests to wait on.
    typealias Events = EventLog<PagePrefetcher.Event>

    static func prefetcher(_ source: ScriptedDeltaSource, maxPages: Int = 16, maxBytes: Int = 1_000_000,
                           events: Events = Events()) throws -> PagePrefetcher {
        var roundGuard = DeltaRoundGuard()
        try roundGuard.visit(ScriptedDeltaSource.link(0))
        return PagePrefetcher(source: source, resource: .users, link: ScriptedDeltaSource.link(0), roundGuard: roundGuard,
                              maxPages: maxPages, maxBytes: maxBytes, observe: { events.record($0) })
    }

    /// Waits until fetching paused for room `count` times, or ended (which a prefetcher that never
    /// pauses does once it fetched the whole round).
    static func pauseOrEnd(_ events: Events, count: Int) async throws {
        try await events.wait(for: "fetching to pause for room (\(count)) or to end") { events in
            events.contains(.finished) || events.lazy.filter { $0 == .waitingForRoom }.count >= count
        }
        #expect(!events.events.contains(.finished), "fetching never paused: it fetched the whole round")
    }

    /// Takes batches until the prefetcher throws, and returns the pages handed over before, and the error.
    static func drain(_ prefetcher: PagePrefetcher) async -> (pages: [FetchedPage], error: (any Error)?) {
        var pages: [FetchedPage] = []
        do {
            while true {
                let batch = try await prefetcher.take()
                if batch.isEmpty { return (pages, nil) }
                pages += batch
            }
        } catch {
            return (pages, error)
        }
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
        // Each read waits for the next request: one that only came after the read would never come.
        let source = ScriptedDeltaSource(pages: Self.pages(3), readWaitsForNextRequest: true)
        let prefetcher = try Self.prefetcher(source)
        defer { prefetcher.cancel() }
        try await source.waitForLog("three fetches and three reads") { $0.count == 6 }
        #expect(source.log == ["fetch 0", "fetch 1", "read 0", "fetch 2", "read 1", "read 2"])
    }

    @Test("no more than one transaction's pages are held ahead of the writer, so memory does not grow with the tenant")
    func fetchesAtMostOneTransactionAhead() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(100))
        let events = Events()
        let prefetcher = try Self.prefetcher(source, maxPages: 5, events: events)
        defer { prefetcher.cancel() }
        // Five waiting, one fetched page waiting for room, and the request for the page after it:
        // once fetching paused, nothing more is asked for until the writer takes.
        try await Self.pauseOrEnd(events, count: 1)
        try await source.requested(6)
        #expect(source.fetchedLinks.count == 7)
        let batch = try await prefetcher.take()
        #expect(batch.count == 5)
        try await Self.pauseOrEnd(events, count: 2)
        try await source.requested(11)
        #expect(source.fetchedLinks.count == 12)
    }

    @Test("no more than one transaction's bytes are held ahead: fetching pauses once the byte limit is reached")
    func fetchesAtMostTheByteLimitAhead() async throws {
        // 1,000-byte pages against a 3,500-byte limit.
        let source = ScriptedDeltaSource(pages: Self.pages(100, usersPerPage: 10))
        let events = Events()
        let prefetcher = try Self.prefetcher(source, maxPages: 50, maxBytes: 3_500, events: events)
        defer { prefetcher.cancel() }
        // Four pages (4,000 bytes) reach the limit; the fifth waits for room, the sixth is requested.
        try await Self.pauseOrEnd(events, count: 1)
        try await source.requested(5)
        #expect(source.fetchedLinks.count == 6)
        #expect(try await prefetcher.take().count == 3)
    }

    @Test("a batch stops before the page that would pass the byte limit, but always holds at least one page")
    func batchesRespectTheByteLimit() async throws {
        let source = ScriptedDeltaSource(pages: [Self.pages(1, usersPerPage: 50)[0]] + Self.pages(9, usersPerPage: 10))
        let prefetcher = try Self.prefetcher(source, maxPages: 2, maxBytes: 3_000)
        defer { prefetcher.cancel() }
        let first = try await prefetcher.take()
        #expect(first.map(\.bytes) == [5_000])
        // Page 4 is requested only after the answer to page 3, which comes after pages 1 and 2 were put.
        try await source.requested(4)
        let second = try await prefetcher.take()
        #expect(second.map(\.bytes) == [1_000, 1_000])
    }

    @Test("pages fetched before a failure are handed over first; the failure comes after them")
    func failureFollowsTheEarlierPages() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(6), failAt: 3)
        let prefetcher = try Self.prefetcher(source)
        defer { prefetcher.cancel() }
        let (pages, error) = await Self.drain(prefetcher)
        #expect(pages.count == 3)
        #expect(error is GraphError, "\(String(describing: error))")
        #expect(source.fetchedLinks.count == 4)
    }

    @Test("a page whose nextLink repeats an earlier link is not handed over, so the loop's link is never stored")
    func refusedNextLinkKeepsItsPage() async throws {
        // Page 2 links back to page 1.
        let source = ScriptedDeltaSource(pages: Self.pages(5), nextLinkOf: { $0 == 2 ? ScriptedDeltaSource.link(1) : ScriptedDeltaSource.link($0 + 1) })
        let prefetcher = try Self.prefetcher(source)
        defer { prefetcher.cancel() }
        let (pages, error) = await Self.drain(prefetcher)
        #expect(pages.count == 2)
        #expect(error is GraphError, "\(String(describing: error))")
        #expect(source.fetchedLinks.count == 3)
    }

    @Test("once cancelled, nothing is handed out, not even a round's last page already fetched")
    func cancelAfterTheLastPageThrows() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(1))
        let events = Events()
        let prefetcher = try Self.prefetcher(source, events: events)
        // Fetching ends once the round's only page is waiting for the writer.
        try await events.wait(for: .finished)
        prefetcher.cancel()
        await #expect(throws: CancellationError.self) { try await prefetcher.take() }
    }

    @Test("cancelling stops fetching and wakes a writer waiting for a page")
    func cancelStopsFetching() async throws {
        let source = ScriptedDeltaSource(pages: Self.pages(100), holdsRequests: true)
        defer { source.release(upTo: 100) }
        let events = Events()
        let prefetcher = try Self.prefetcher(source, maxPages: 2, events: events)
        let writer = Task { try await prefetcher.take() }
        try await events.wait(for: .waitingForPage)
        try await source.requested(0)
        prefetcher.cancel()
        await #expect(throws: CancellationError.self) { try await writer.value }
        // The transfer in flight still completes after the cancel; its page is neither read nor followed.
        source.release(0)
        try await events.wait(for: .finished)
        #expect(source.log == ["fetch 0"])
        #expect(source.fetchedLinks == [ScriptedDeltaSource.link(0)])
    }
}

extension DeltaContinuation {
    fileprivate var isDelta: Bool {
        if case .delta = self { return true }
        return false
    }
}
