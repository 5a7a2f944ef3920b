import Foundation

/// Turns the objects of one delta page into a ``PagePlan``.
///
/// Graph does not promise that an object appears once per page or in any order (it may repeat an
/// object that changed several times, and a large group comes back on several pages with different
/// slices of `members@delta`). The planner resolves repeats so that applying the plan leaves the
/// tables exactly as applying each report in turn would:
/// - the properties of every report that is not `@removed` merge in order: later present values win,
///   absent ones keep earlier values (a removal in between does not erase what was reported before it,
///   just as it would not erase a row written by an earlier page);
/// - the object is removed when its last report is `@removed`, with that reason; a report after a
///   removal restores it and cancels the removal;
/// - an object with both properties and a final removal gets both: its row is written, then its
///   deletion staged for the round's end;
/// - for each (group, member) the last `members@delta` entry decides add or remove, also for a group
///   that ends removed (a deleted group loses all its memberships when its deletion is applied, and one
///   restored later in the round keeps them).
/// Because of this, one page and several consecutive pages planned together (``plan(pages:)``) are
/// the same thing to the store: Graph's page boundaries carry no meaning.
public enum DeltaPlanner {
    /// Plans consecutive pages of one round together: the plan of one page holding all their objects
    /// in order. Applying it leaves the tables as applying each page's plan in turn would; only the
    /// number of transactions differs.
    public static func plan(pages: [AnyDeltaPage]) -> PagePlan {
        guard pages.count > 1 else {
            switch pages.first {
            case .users(let page)?: return plan(users: page.objects)
            case .groups(let page)?: return plan(groups: page.objects)
            case nil: return PagePlan()
            }
        }
        var users: [UserChange] = []
        var groups: [GroupChange] = []
        for page in pages {
            switch page {
            case .users(let page): users += page.objects
            case .groups(let page): groups += page.objects
            }
        }
        // A round is of one resource; should pages of both ever be given, both are planned.
        var combined = plan(users: users)
        let groupPlan = plan(groups: groups)
        combined.groups = groupPlan.groups
        combined.removals += groupPlan.removals
        combined.membershipAdditions = groupPlan.membershipAdditions
        combined.membershipRemovals = groupPlan.membershipRemovals
        return combined
    }

    /// Plans a page of `/users/delta`.
    public static func plan(users objects: [UserChange]) -> PagePlan {
        var resolver = RepeatResolver<UserChange>()
        for object in objects { resolver.add(object) }
        var plan = PagePlan()
        (plan.users, plan.removals) = resolver.resolved()
        return plan
    }

    /// Plans a page of `/groups/delta`, including its `members@delta` slices.
    public static func plan(groups objects: [GroupChange]) -> PagePlan {
        var resolver = RepeatResolver<GroupChange>()
        var memberOrder: [MembershipRemoval] = []
        var members: [MembershipRemoval: MemberChange] = [:]
        for object in objects {
            var properties = object
            properties.memberChanges = []
            resolver.add(properties)
            for change in object.memberChanges {
                let key = MembershipRemoval(groupID: object.id, memberID: change.memberID)
                if members.updateValue(change, forKey: key) == nil { memberOrder.append(key) }
            }
        }
        var plan = PagePlan()
        // A group seen only to carry membership changes (no properties) still counts as an upsert:
        // it exists, and a full round must see it.
        (plan.groups, plan.removals) = resolver.resolved()
        for key in memberOrder {
            let change = members[key]!
            if change.removed {
                plan.membershipRemovals.append(key)
            } else {
                plan.membershipAdditions.append(MembershipAddition(groupID: key.groupID, memberID: key.memberID, memberType: change.memberType))
            }
        }
        return plan
    }
}

/// An object a page can report more than once.
public protocol RepeatableChange: Sendable {
    var id: UUID { get }
    var removed: RemovalReason? { get }
    /// Overrides this report's properties with those present in `later`.
    mutating func merge(_ later: Self)
    /// Whether writing this report over a row that holds `earlier`'s values would change nothing:
    /// every property it carries, `earlier` carried with the same value (memberships aside).
    func addsNothing(to earlier: Self) -> Bool
}

/// Resolves repeated reports of objects within a page (see ``DeltaPlanner`` for the rules).
struct RepeatResolver<Change: RepeatableChange> {
    private var order: [UUID] = []
    private var seen: Set<UUID> = []
    /// The merged properties of every report that was not a removal.
    private var upserts: [UUID: Change] = [:]
    /// Set while an object's latest report is a removal.
    private var removals: [UUID: DeletionReason] = [:]

    mutating func add(_ object: Change) {
        if seen.insert(object.id).inserted { order.append(object.id) }
        if let reason = object.removed {
            removals[object.id] = DeletionReason(reason)
        } else {
            removals[object.id] = nil
            if upserts[object.id] == nil {
                upserts[object.id] = object
            } else {
                upserts[object.id]!.merge(object)
            }
        }
    }

    /// Upserts and removals, one of each at most per id, in order of first appearance.
    func resolved() -> ([Change], [ObjectRemoval]) {
        var changes: [Change] = []
        var removed: [ObjectRemoval] = []
        for id in order {
            if let change = upserts[id] { changes.append(change) }
            if let reason = removals[id] { removed.append(ObjectRemoval(id: id, reason: reason)) }
        }
        return (changes, removed)
    }
}

extension UserChange: RepeatableChange {
    public mutating func merge(_ later: UserChange) {
        userPrincipalName.merge(later.userPrincipalName)
        displayName.merge(later.displayName)
        givenName.merge(later.givenName)
        surname.merge(later.surname)
        mail.merge(later.mail)
        jobTitle.merge(later.jobTitle)
        department.merge(later.department)
        accountEnabled.merge(later.accountEnabled)
        userType.merge(later.userType)
        proxyAddresses.merge(later.proxyAddresses)
    }

    public func addsNothing(to earlier: UserChange) -> Bool {
        removed == nil && earlier.removed == nil
            && userPrincipalName.isCovered(by: earlier.userPrincipalName) && displayName.isCovered(by: earlier.displayName)
            && givenName.isCovered(by: earlier.givenName) && surname.isCovered(by: earlier.surname)
            && mail.isCovered(by: earlier.mail) && jobTitle.isCovered(by: earlier.jobTitle)
            && department.isCovered(by: earlier.department) && accountEnabled.isCovered(by: earlier.accountEnabled)
            && userType.isCovered(by: earlier.userType) && proxyAddresses.isCovered(by: earlier.proxyAddresses)
    }
}

extension GroupChange: RepeatableChange {
    public mutating func merge(_ later: GroupChange) {
        displayName.merge(later.displayName)
        description.merge(later.description)
        mail.merge(later.mail)
        mailNickname.merge(later.mailNickname)
        mailEnabled.merge(later.mailEnabled)
        securityEnabled.merge(later.securityEnabled)
        groupTypes.merge(later.groupTypes)
    }

    public func addsNothing(to earlier: GroupChange) -> Bool {
        removed == nil && earlier.removed == nil
            && displayName.isCovered(by: earlier.displayName) && description.isCovered(by: earlier.description)
            && mail.isCovered(by: earlier.mail) && mailNickname.isCovered(by: earlier.mailNickname)
            && mailEnabled.isCovered(by: earlier.mailEnabled) && securityEnabled.isCovered(by: earlier.securityEnabled)
            && groupTypes.isCovered(by: earlier.groupTypes)
    }
}

extension Patch {
    /// Takes `later` when it is present.
    mutating func merge(_ later: Patch) {
        if later.isPresent { self = later }
    }

    /// Absent, or present in `earlier` with the same value.
    func isCovered(by earlier: Patch) -> Bool {
        !isPresent || self == earlier
    }
}
