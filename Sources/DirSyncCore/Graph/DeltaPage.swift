import Foundation

/// A directory object type that arrives through a Graph delta query.
///
/// The two conforming types, ``UserChange`` and ``GroupChange``, are decoded by ``DeltaPageDecoder``.
public protocol DeltaObject: Sendable, Equatable {
    /// The delta resource this object type comes from.
    static var resource: DirectoryResource { get }
    /// Decodes one entry of a page's `value` array.
    /// - Returns: the object, or `nil` after appending a ``Diagnostic`` saying why it was skipped.
    static func decode(_ entry: [String: Any], diagnostics: inout [Diagnostic]) -> Self?
}

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
public struct DeltaPage<Object: DeltaObject>: Sendable, Equatable {
    /// The objects on this page in Graph's order (a group may continue on a later page).
    public var objects: [Object]
    /// The nextLink or the deltaLink.
    public var continuation: DeltaContinuation
    /// Entries or member references that were skipped, and why.
    public var diagnostics: [Diagnostic]

    public init(objects: [Object], continuation: DeltaContinuation, diagnostics: [Diagnostic] = []) {
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

extension UserChange: DeltaObject {
    public static var resource: DirectoryResource { .users }

    public static func decode(_ entry: [String: Any], diagnostics: inout [Diagnostic]) -> UserChange? {
        var reader = DeltaEntryReader(entry: entry, resource: "user")
        guard let id = reader.objectID(diagnostics: &diagnostics) else { return nil }
        var user = UserChange(id: id)
        user.userPrincipalName = reader.indexedString("userPrincipalName")
        user.displayName = reader.string("displayName")
        user.givenName = reader.string("givenName")
        user.surname = reader.string("surname")
        user.mail = reader.indexedString("mail")
        user.jobTitle = reader.string("jobTitle")
        user.department = reader.string("department")
        user.accountEnabled = reader.bool("accountEnabled")
        user.userType = reader.string("userType")
        user.proxyAddresses = reader.stringArray("proxyAddresses")
        user.removed = reader.removal()
        guard reader.finish(diagnostics: &diagnostics) else { return nil }
        return user
    }
}

extension GroupChange: DeltaObject {
    public static var resource: DirectoryResource { .groups }

    public static func decode(_ entry: [String: Any], diagnostics: inout [Diagnostic]) -> GroupChange? {
        var reader = DeltaEntryReader(entry: entry, resource: "group")
        guard let id = reader.objectID(diagnostics: &diagnostics) else { return nil }
        var group = GroupChange(id: id)
        group.displayName = reader.string("displayName")
        group.description = reader.string("description")
        group.mail = reader.indexedString("mail")
        group.mailNickname = reader.string("mailNickname")
        group.mailEnabled = reader.bool("mailEnabled")
        group.securityEnabled = reader.bool("securityEnabled")
        group.groupTypes = reader.stringArray("groupTypes")
        group.removed = reader.removal()
        group.memberChanges = reader.memberChanges(groupID: id, diagnostics: &diagnostics)
        guard reader.finish(diagnostics: &diagnostics) else { return nil }
        return group
    }
}
