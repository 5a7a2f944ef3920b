import DirSyncCore
import Foundation
import Synchronization

/// A Graph that answers delta pages from a script, and records how far a round was fetched.
///
/// By default every page is answered at once. With `holdsRequests` each request waits until the
/// test releases it (``release(_:)``), so the test decides exactly when each page arrives; a held
/// request ignores cancellation, as a transfer already in flight does.
package final class ScriptedDeltaSource: DeltaSource {
    private enum Step: Sendable {
        case page(DeltaPage)
        case failure(GraphError)
    }

    private let resource: DirectoryResource
    private let steps: [String: Step]
    /// Links that fail with a 410 the first time they are fetched, and serve their page after that.
    private let failOnce: Mutex<Set<String>>
    private let fetched = Mutex<[String]>([])
    /// `fetch N` when page N was requested, `read N` when its objects were read.
    private let events = EventLog<String>()
    /// Releases of held requests, by page number.
    private let releases = Mutex<[Int: Gate]>([:])

    /// Pages of `resource`: page `i` is served at `link(i)` and names `nextLinkOf(i)` (by default
    /// `link(i + 1)`) as its nextLink; the last page carries a deltaLink. `failAt` makes that page
    /// fail with Graph's 410 (the delta state is gone) every time; `failOnceAt` only the first time.
    /// Later rounds (`laterRounds`) are served from the deltaLink of the round before, page `i` of
    /// round `r` at `link(i, round: r)`; the last round's deltaLink (``finalDeltaLink``) is not served.
    package init(_ resource: DirectoryResource = .users, pages: [[ObjectChange]], laterRounds: [[[ObjectChange]]] = [],
                 failAt: Int? = nil, failOnceAt: Int? = nil,
                 nextLinkOf: (Int) -> String = { ScriptedDeltaSource.link($0 + 1) }, readWaitsForNextRequest: Bool = false,
                 domains: [GraphDomain] = [GraphDomain(name: "a.example", isVerified: true, supportedServices: ["Email"])],
                 holdsRequests: Bool = false, holdsDomains: Bool = false) {
        self.resource = resource
        self.holdsDomains = holdsDomains
        self.tenantDomains = domains
        self.readWaitsForNextRequest = readWaitsForNextRequest
        self.holdsRequests = holdsRequests
        var steps: [String: Step] = [:]
        let rounds = [pages] + laterRounds
        for (round, pages) in rounds.enumerated() {
            for (index, objects) in pages.enumerated() {
                let continuation: DeltaContinuation = index == pages.count - 1
                    ? .delta(round == rounds.count - 1 ? Self.finalDeltaLink : Self.link(0, round: round + 1))
                    : .next(round == 0 ? nextLinkOf(index) : Self.link(index + 1, round: round))
                steps[Self.link(index, round: round)] = round == 0 && index == failAt
                    ? .failure(GraphError(code: .resyncRequired, message: "delta state gone", fix: "none"))
                    : .page(DeltaPage(resource: resource, objects: objects, continuation: continuation))
            }
        }
        self.steps = steps
        failOnce = Mutex(failOnceAt.map { [Self.link($0)] } ?? [])
    }

    /// The deltaLink of the last scripted round.
    package static let finalDeltaLink = "https://graph.example/delta?token=end"

    /// Page `index` of round `round` (round 0 is the one started at the initial link).
    package static func link(_ index: Int, round: Int) -> String {
        round == 0 ? link(index) : "https://graph.example/users/delta?round=\(round)&page=\(index)"
    }

    /// The response size the script reports per object on a page.
    package static let bytesPerObject = 100

    package static func link(_ index: Int) -> String { "https://graph.example/users/delta?page=\(index)" }

    /// What happened, in order: `fetch N` when page N was requested, `read N` when its objects were
    /// read, `domains` when the domain list was asked for.
    package var log: [String] { events.events }

    /// Waits until the events in ``log`` satisfy `condition`.
    package func waitForLog(_ what: String, until condition: @escaping @Sendable ([String]) -> Bool) async throws {
        try await events.wait(for: what, until: condition)
    }

    /// Waits until page `index` has been requested (it may still be held).
    package func requested(_ index: Int) async throws {
        try await events.wait(for: "fetch \(index)")
    }

    /// Lets the held request for page `index` be answered (now, or as soon as it arrives).
    package func release(_ index: Int) {
        gate(index).open()
    }

    /// Lets every request for pages `0..<count` be answered.
    package func release(upTo count: Int) {
        for index in 0..<count { release(index) }
    }

    private func gate(_ index: Int) -> Gate {
        releases.withLock { gates in
            if let gate = gates[index] { return gate }
            let gate = Gate()
            gates[index] = gate
            return gate
        }
    }

    /// Links fetched so far, in order.
    package var fetchedLinks: [String] { fetched.withLock { $0 } }

    package func initialDeltaURL(_ resource: DirectoryResource) -> String { Self.link(0) }

    /// The properties the script's initial link stands for: the standard schema's, unless set.
    package var selection: [String]? {
        get { selectionOverride.withLock { $0 } }
        set { selectionOverride.withLock { $0 = newValue } }
    }
    private let selectionOverride = Mutex<[String]?>(nil)

    package func selectedProperties(_ resource: DirectoryResource) -> [String] {
        selection ?? DirectorySchema.standard[resource].selectedProperties
    }

    package func fetchDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: DeltaPage, info: GraphResponseInfo) {
        try Task.checkCancellation()
        return try serve(link)
    }

    private func serve(_ link: String) throws -> (page: DeltaPage, info: GraphResponseInfo) {
        fetched.withLock { $0.append(link) }
        if failOnce.withLock({ $0.remove(link) != nil }) {
            throw GraphError(code: .resyncRequired, message: "delta state gone", fix: "none")
        }
        var info = GraphResponseInfo(status: 200, requestID: nil, clientRequestID: "test", attempt: 1, resourceUnits: nil)
        switch steps[link] {
        case .page(let page)?:
            info.bodyBytes = Self.bytesPerObject * page.objects.count
            return (page, info)
        case .failure(let error)?: throw error
        case nil: throw GraphError(code: .malformedResponse, message: "unscripted link \(link)", fix: "fix the test")
        }
    }

    /// When set, reading a page's objects first waits until the next page is requested, so a caller
    /// that reads before it asks for more is caught in ``log``: its read waits for a request that
    /// only comes after it, until the wait's guard gives up and the read is logged first.
    package let readWaitsForNextRequest: Bool

    /// Whether each request waits for ``release(_:)`` before it is answered.
    package let holdsRequests: Bool

    /// Pages whose objects are read when the round asks for them, and logged then.
    package func fetchPendingDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: PendingDeltaPage, info: GraphResponseInfo) {
        let number = link.split(separator: "=").last.map(String.init) ?? link
        events.record("fetch \(number)")
        let (page, info): (DeltaPage, GraphResponseInfo)
        if holdsRequests, let index = Int(number) {
            // A transfer in flight is not interrupted: the wait runs in a task of its own, which the
            // caller's cancellation does not reach, and the answer is served even to a cancelled caller.
            let gate = gate(index)
            try await Task { try await gate.wait(for: "the test to release page \(index)") }.value
            (page, info) = try serve(link)
        } else {
            (page, info) = try await fetchDeltaPage(resource: resource, link: link)
        }
        let next = Int(number).map { "fetch \($0 + 1)" }
        return (PendingDeltaPage(continuation: page.continuation) { [self] in
            if readWaitsForNextRequest, case .next = page.continuation, let next {
                events.waitBlocking { $0.contains(next) }
            }
            events.record("read \(number)")
            return page
        }, info)
    }

    package func count(_ resource: DirectoryResource) async throws -> Int { 0 }

    /// The tenant's domains, as scripted.
    package let tenantDomains: [GraphDomain]

    /// Whether the domain list waits for ``releaseDomains()`` before it is answered.
    package let holdsDomains: Bool
    private let domainsGate = Gate()

    /// Lets the held domain list be answered.
    package func releaseDomains() {
        domainsGate.open()
    }

    /// Logs `domains` when the list is asked for.
    package func domains() async throws -> [GraphDomain] {
        events.record("domains")
        if holdsDomains { try await domainsGate.wait(for: "the test to release the domain list") }
        return tenantDomains
    }
}
