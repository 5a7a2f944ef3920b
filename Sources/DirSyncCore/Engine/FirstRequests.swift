import Synchronization

/// Each resource's first delta request, sent while a tenant's run still does its bookkeeping.
///
/// Before a tenant's rounds start, its run reads the tenant's domains from Graph (a round trip that
/// must come before any write when a domain is new), records the run and checks for a parallel first
/// load. None of that changes which link a round fetches first: that follows from the stored cursor
/// (``RoundMachine/firstRequest(resource:options:initialLink:selection:cursor:now:)``). So the run sends
/// those requests alongside the domain read, and the round that later asks for exactly that link
/// takes the answer instead of asking again: a run takes one round trip less, and a quiet tenant's
/// run is its three delta requests and the domain list side by side.
///
/// An answer no round asks for (the tenant failed before its rounds, a parallel first load took over,
/// the cursor the round read said otherwise) is dropped unread; nothing is ever written from it.
final class FirstRequests: Sendable {
    typealias Answer = (page: PendingDeltaPage, info: GraphResponseInfo)

    private let sent = Mutex<[DirectoryResource: (link: String, answer: Task<Answer, any Error>)]>([:])

    /// Sends the request for `link`, the first of `resource`'s rounds.
    func send(_ resource: DirectoryResource, link: String, to source: any DeltaSource) {
        let answer = Task { try await source.fetchPendingDeltaPage(resource: resource, link: link) }
        let replaced = sent.withLock { sent in
            defer { sent[resource] = (link, answer) }
            return sent[resource]?.answer
        }
        replaced?.cancel()
    }

    /// The answer to exactly this request, if it was sent ahead; each answer is handed out once.
    func take(_ resource: DirectoryResource, link: String) -> Task<Answer, any Error>? {
        sent.withLock { sent in
            guard let entry = sent[resource], entry.link == link else { return nil }
            sent[resource] = nil
            return entry.answer
        }
    }

    /// Drops the answers no round took.
    func dropUntaken() {
        let untaken = sent.withLock { sent in
            defer { sent = [:] }
            return sent.values.map(\.answer)
        }
        for answer in untaken { answer.cancel() }
    }
}

/// A delta source that answers a request sent ahead by ``FirstRequests`` from that answer, and every
/// other from the source itself.
struct SourceWithFirstRequests: DeltaSource {
    let source: any DeltaSource
    let firstRequests: FirstRequests

    func initialDeltaURL(_ resource: DirectoryResource) -> String { source.initialDeltaURL(resource) }

    func selectedProperties(_ resource: DirectoryResource) -> [String] { source.selectedProperties(resource) }

    func fetchDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: DeltaPage, info: GraphResponseInfo) {
        let (pending, info) = try await fetchPendingDeltaPage(resource: resource, link: link)
        return (pending.page(), info)
    }

    func fetchPendingDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: PendingDeltaPage, info: GraphResponseInfo) {
        guard let answer = firstRequests.take(resource, link: link) else {
            return try await source.fetchPendingDeltaPage(resource: resource, link: link)
        }
        return try await withTaskCancellationHandler { try await answer.value } onCancel: { answer.cancel() }
    }

    func count(_ resource: DirectoryResource) async throws -> Int { try await source.count(resource) }

    func domains() async throws -> [GraphDomain] { try await source.domains() }
}
