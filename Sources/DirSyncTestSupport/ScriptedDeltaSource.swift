import DirSyncCore
import Foundation
import Synchronization

/// A Graph that answers from a script at once, and records how far the round was fetched.
package final class ScriptedDeltaSource: DeltaSource {
    private enum Step: Sendable {
        case page(AnyDeltaPage)
        case failure(GraphError)
    }

    private let steps: [String: Step]
    private let fetched = Mutex<[String]>([])
    private let events = Mutex<[String]>([])

    /// Pages of `/users/delta`: page `i` is served at `link(i)` and names `nextLinkOf(i)` (by default
    /// `link(i + 1)`) as its nextLink; the last page carries a deltaLink. `failAt` makes that page fail with a 410.
    package init(userPages: [[UserChange]], failAt: Int? = nil, nextLinkOf: (Int) -> String = { ScriptedDeltaSource.link($0 + 1) },
                 readWaitsForNextRequest: Bool = false) {
        self.readWaitsForNextRequest = readWaitsForNextRequest
        var steps: [String: Step] = [:]
        for (index, objects) in userPages.enumerated() {
            let continuation: DeltaContinuation = index == userPages.count - 1
                ? .delta("https://graph.example/delta?token=end") : .next(nextLinkOf(index))
            steps[Self.link(index)] = index == failAt
                ? .failure(GraphError(code: .resyncRequired, message: "delta state gone", fix: "none"))
                : .page(.users(DeltaPage(objects: objects, continuation: continuation)))
        }
        self.steps = steps
    }

    /// The response size the script reports per user on a page.
    package static let bytesPerUser = 100

    package static func link(_ index: Int) -> String { "https://graph.example/users/delta?page=\(index)" }

    /// What happened, in order: `fetch N` when page N was requested, `read N` when its objects were read.
    package var log: [String] { events.withLock { $0 } }

    /// Links fetched so far, in order.
    package var fetchedLinks: [String] { fetched.withLock { $0 } }

    package func initialDeltaURL(_ resource: DirectoryResource) -> String { Self.link(0) }

    package func fetchDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: AnyDeltaPage, info: GraphResponseInfo) {
        try Task.checkCancellation()
        fetched.withLock { $0.append(link) }
        var info = GraphResponseInfo(status: 200, requestID: nil, clientRequestID: "test", attempt: 1, resourceUnits: nil)
        switch steps[link] {
        case .page(let page)?:
            if case .users(let users) = page { info.bodyBytes = Self.bytesPerUser * users.objects.count }
            return (page, info)
        case .failure(let error)?: throw error
        case nil: throw GraphError(code: .malformedResponse, message: "unscripted link \(link)", fix: "fix the test")
        }
    }

    /// When set, reading a page's objects first waits (up to two seconds) for the next page to be
    /// requested, so a caller that reads before it asks for more is caught in ``log``.
    package let readWaitsForNextRequest: Bool

    /// Pages whose objects are read when the round asks for them, and logged then.
    package func fetchPendingDeltaPage(resource: DirectoryResource, link: String) async throws -> (page: PendingDeltaPage, info: GraphResponseInfo) {
        let number = link.split(separator: "=").last.map(String.init) ?? link
        events.withLock { $0.append("fetch \(number)") }
        let (page, info) = try await fetchDeltaPage(resource: resource, link: link)
        let next = Int(number).map { "fetch \($0 + 1)" }
        return (PendingDeltaPage(continuation: page.continuation) { [self] in
            if readWaitsForNextRequest, case .next = page.continuation, let next {
                let deadline = ContinuousClock.now + .seconds(2)
                while !events.withLock({ $0.contains(next) }), ContinuousClock.now < deadline { usleep(1_000) }
            }
            events.withLock { $0.append("read \(number)") }
            return page
        }, info)
    }

    package func count(_ resource: DirectoryResource) async throws -> Int { 0 }

    package func domain(name: String) async throws -> GraphDomain {
        throw GraphError(code: .malformedResponse, message: "not scripted", fix: "fix the test")
    }
}
