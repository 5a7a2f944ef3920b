import Synchronization

/// One fetched page of a round, waiting to be written.
struct FetchedPage: Sendable {
    var page: DeltaPage
    var info: GraphResponseInfo

    /// What the page weighs: the size of Graph's response. It tracks both the memory the decoded page
    /// holds and the work of writing it (a user weighs about as much as four membership changes).
    var bytes: Int { max(1, info.bodyBytes) }
}

/// Fetches a round's pages ahead of the writer, holding at most a transaction's worth of them.
///
/// Graph's pages must be fetched in order (each names the next), but nothing ties the fetch to the
/// write. When the network is the slower side the writer finds one page waiting and writes it alone,
/// so latency stays hidden; when the database is the slower side pages pile up and the writer takes
/// several at once into one transaction, which is where PostgreSQL's per-statement and per-commit
/// costs are saved. Memory stays bounded by the limits whatever the tenant's size: what is held
/// ahead is at most one transaction's pages and bytes, plus the page waiting for room and the
/// response of the request in flight.
///
/// The round guard runs here: a page whose nextLink is refused (a loop, a foreign host) is not handed
/// to the writer, so its refused link is never stored as a resume point.
final class PagePrefetcher: Sendable {
    /// A moment in the prefetcher's life that an observer can wait for (tests synchronize on these
    /// instead of on time).
    enum Event: Sendable, Equatable {
        /// Fetching paused: a transaction's worth is ready and the next page waits for the writer.
        case waitingForRoom
        /// The writer waits for a page.
        case waitingForPage
        /// Fetching ended for good: after the round's last page, a failure or cancellation.
        case finished
    }

    private struct State {
        var ready: [FetchedPage] = []
        var readyBytes = 0
        /// Set when fetching stopped: after the round's last page (`nil` error) or on a failure.
        var ended = false
        var failure: (any Error)?
        /// Whoever waits for a page, or for room to put one.
        var consumer: CheckedContinuation<Void, Never>?
        var producer: CheckedContinuation<Void, Never>?
        var stopped = false

        func hasRoom(maxPages: Int, maxBytes: Int) -> Bool {
            ready.count < maxPages && readyBytes < maxBytes
        }
    }

    private let state = Mutex(State())
    private let maxPages: Int
    private let maxBytes: Int
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let observe: @Sendable (Event) -> Void

    /// Starts fetching at `link`, which the caller already passed through `roundGuard`.
    /// - Parameters:
    ///   - maxPages: the most pages a transaction takes, and the most held ahead.
    ///   - maxBytes: the most response bytes a transaction takes, and the most held ahead.
    ///   - observe: told of each ``Event``, on the task it happens on.
    init(source: any DeltaSource, resource: DirectoryResource, link: String, roundGuard: DeltaRoundGuard, maxPages: Int, maxBytes: Int,
         observe: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.maxPages = max(1, maxPages)
        self.maxBytes = max(1, maxBytes)
        self.observe = observe
        let producer = Task { [self] in
            await self.produce(source: source, resource: resource, link: link, roundGuard: roundGuard)
            observe(.finished)
        }
        task.withLock { $0 = producer }
    }

    /// Waits for at least one page and takes the pages ready now, in order, up to the page and byte
    /// limits (the first page is taken whatever its size).
    /// - Returns: the pages, or an empty array when called again after the round's last page.
    /// - Throws: the fetch error that stopped the round, once the pages before it were taken.
    func take() async throws -> [FetchedPage] {
        while true {
            enum Next { case pages([FetchedPage], CheckedContinuation<Void, Never>?), end((any Error)?), wait }
            let next: Next = state.withLock { state in
                // Once cancelled, nothing more is handed out, not even a round's last page.
                if state.stopped { return .end(CancellationError()) }
                if !state.ready.isEmpty {
                    var count = 1
                    var bytes = state.ready[0].bytes
                    while count < min(maxPages, state.ready.count), bytes + state.ready[count].bytes <= maxBytes {
                        bytes += state.ready[count].bytes
                        count += 1
                    }
                    let pages = Array(state.ready.prefix(count))
                    state.ready.removeFirst(count)
                    state.readyBytes -= bytes
                    let producer = state.producer
                    state.producer = nil
                    return .pages(pages, producer)
                }
                if state.ended { return .end(state.failure) }
                return .wait
            }
            switch next {
            case .pages(let pages, let producer):
                producer?.resume()
                return pages
            case .end(let failure?):
                throw failure
            case .end(nil):
                return []
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if !state.ready.isEmpty || state.ended || state.stopped { return true }
                        state.consumer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() } else { observe(.waitingForPage) }
                }
            }
        }
    }

    /// Stops fetching; pages not yet taken are dropped and ``take()`` throws `CancellationError` from
    /// now on. Safe to call more than once.
    func cancel() {
        task.withLock { $0?.cancel() }
        let waiters = state.withLock { state in
            state.stopped = true
            state.ready = []
            state.readyBytes = 0
            if !state.ended {
                state.ended = true
                state.failure = CancellationError()
            }
            defer { (state.producer, state.consumer) = (nil, nil) }
            return (state.producer, state.consumer)
        }
        waiters.0?.resume()
        waiters.1?.resume()
    }

    private func produce(source: any DeltaSource, resource: DirectoryResource, link first: String, roundGuard: DeltaRoundGuard) async {
        var roundGuard = roundGuard
        var inFlight: Task<(page: PendingDeltaPage, info: GraphResponseInfo), any Error>? = Task {
            try await source.fetchPendingDeltaPage(resource: resource, link: first)
        }
        defer { inFlight?.cancel() }
        do {
            while let request = inFlight {
                let (pending, info) = try await withTaskCancellationHandler { try await request.value } onCancel: { request.cancel() }
                inFlight = nil
                if case .next(let next) = pending.continuation {
                    // Refuse a bad nextLink before its page is handed on: the writer stores it as the resume point.
                    try roundGuard.visit(next)
                    // A transfer cannot be interrupted, so a cancelled round may still get its answer: ask for no more.
                    try Task.checkCancellation()
                    // Only the link is needed to go on: ask for the next page before reading this one's objects.
                    inFlight = Task { try await source.fetchPendingDeltaPage(resource: resource, link: next) }
                }
                guard await put(FetchedPage(page: pending.page(), info: info)) else { return }
            }
            end(nil)
        } catch {
            end(error)
        }
    }

    /// Adds a page, waiting while a transaction's worth is ready. Returns `false` when the writer stopped.
    private func put(_ page: FetchedPage) async -> Bool {
        while true {
            enum Next { case added(CheckedContinuation<Void, Never>?), stopped, wait }
            let next: Next = state.withLock { state in
                if state.stopped { return .stopped }
                if state.hasRoom(maxPages: maxPages, maxBytes: maxBytes) {
                    state.ready.append(page)
                    state.readyBytes += page.bytes
                    let consumer = state.consumer
                    state.consumer = nil
                    return .added(consumer)
                }
                return .wait
            }
            switch next {
            case .added(let consumer):
                consumer?.resume()
                return true
            case .stopped:
                return false
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if state.stopped || state.hasRoom(maxPages: maxPages, maxBytes: maxBytes) { return true }
                        state.producer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() } else { observe(.waitingForRoom) }
                }
            }
        }
    }

    private func end(_ failure: (any Error)?) {
        let consumer = state.withLock { state in
            if !state.ended {
                state.ended = true
                state.failure = failure
            }
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }
}
