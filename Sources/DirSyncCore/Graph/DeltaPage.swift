import Foundation

/// Where a delta page says to go next. A page carries exactly one of the two links.
public enum DeltaContinuation: Sendable, Equatable {
    /// `@odata.nextLink`: more pages follow in this round.
    case next(String)
    /// `@odata.deltaLink`: the round is complete; store this link for the next round.
    case delta(String)

    /// The link itself, exactly as Graph sent it.
    public var link: String {
        switch self {
        case .next(let link), .delta(let link): link
        }
    }
}

/// One decoded page of a delta round.
public struct DeltaPage: Sendable, Equatable {
    /// The resource the page belongs to.
    public var resource: DirectoryResource
    /// The objects on this page in Graph's order (a group may continue on a later page).
    public var objects: [ObjectChange]
    /// The nextLink or the deltaLink.
    public var continuation: DeltaContinuation
    /// Entries or member references that were skipped, and why.
    public var diagnostics: [Diagnostic]

    public init(resource: DirectoryResource, objects: [ObjectChange], continuation: DeltaContinuation, diagnostics: [Diagnostic] = []) {
        self.resource = resource
        self.objects = objects
        self.continuation = continuation
        self.diagnostics = diagnostics
    }

    /// Whether this is the last page of the round (it carries the deltaLink).
    public var isLastPage: Bool {
        if case .delta = continuation { return true }
        return false
    }
}

/// A delta page whose continuation is known and whose objects are read on demand: a round can ask
/// for the next page as soon as the link is known, while this page's objects are read.
public struct PendingDeltaPage: Sendable {
    /// The page's nextLink or deltaLink.
    public let continuation: DeltaContinuation
    private let read: @Sendable () -> DeltaPage

    public init(continuation: DeltaContinuation, read: @escaping @Sendable () -> DeltaPage) {
        self.continuation = continuation
        self.read = read
    }

    /// A page that was read already.
    public init(_ page: DeltaPage) {
        self.init(continuation: page.continuation) { page }
    }

    /// Reads the page's objects (entries that cannot be read become diagnostics).
    public func page() -> DeltaPage { read() }
}

/// One decoded page of a plain list (`GET /users?$top=999`, `getByIds`): objects as they are now.
public struct ListPage: Sendable, Equatable {
    public var resource: DirectoryResource
    public var objects: [ObjectChange]
    /// The next page's link; `nil` on the last page.
    public var nextLink: String?
    /// Entries that could not be read (each skipped).
    public var diagnostics: [Diagnostic]

    public init(resource: DirectoryResource, objects: [ObjectChange], nextLink: String?, diagnostics: [Diagnostic] = []) {
        self.resource = resource
        self.objects = objects
        self.nextLink = nextLink
        self.diagnostics = diagnostics
    }
}
