import Foundation

/// Turns the objects of one delta page into a ``PagePlan``.
///
/// Graph does not promise that an object appears once per page or in any order (it may repeat an
/// object that changed several times, and a large group comes back on several pages with different
/// slices of `members@delta`). Within a page the planner therefore resolves repeats so that the last
/// report wins, property by property:
/// - a later occurrence's present properties override earlier ones; absent ones leave them;
/// - `@removed` after an upsert cancels the upsert and records the removal;
/// - an object reported again after `@removed` was restored: it comes back whole and cancels the removal;
/// - for each (group, member) the last `members@delta` entry decides add or remove;
/// - membership changes of a group the page removes are dropped: a deleted group loses all its
///   memberships when the deletion is applied.
/// Across pages the store applies plans in order, so the same rules hold for the whole round.
public enum DeltaPlanner {
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
            guard object.removed == nil else { continue }
            for change in object.memberChanges {
                let key = MembershipRemoval(groupID: object.id, memberID: change.memberID)
                if members.updateValue(change, forKey: key) == nil { memberOrder.append(key) }
            }
        }
        var plan = PagePlan()
        // A group seen only to carry membership changes (no properties) still counts as an upsert:
        // it exists, and a full round must see it.
        (plan.groups, plan.removals) = resolver.resolved()
        let removedGroups = Set(plan.removals.map(\.id))
        for key in memberOrder where !removedGroups.contains(key.groupID) {
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
protocol RepeatableChange: Sendable {
    var id: UUID { get }
    var removed: RemovalReason? { get }
    /// Overrides this report's properties with those present in `later`.
    mutating func merge(_ later: Self)
}

/// Resolves repeated reports of objects within a page: the last report wins, property by property.
struct RepeatResolver<Change: RepeatableChange> {
    private var order: [UUID] = []
    private var upserts: [UUID: Change] = [:]
    private var removals: [UUID: DeletionReason] = [:]

    mutating func add(_ object: Change) {
        if upserts[object.id] == nil && removals[object.id] == nil { order.append(object.id) }
        if let reason = object.removed {
            upserts[object.id] = nil
            removals[object.id] = DeletionReason(reason)
        } else if removals.removeValue(forKey: object.id) != nil || upserts[object.id] == nil {
            // New, or reported again after a removal: a restored object comes back whole.
            upserts[object.id] = object
        } else {
            upserts[object.id]!.merge(object)
        }
    }

    /// Upserts and removals, one per id, in order of first appearance.
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
    /// Overrides this change's properties with those present in `later`.
    mutating func merge(_ later: UserChange) {
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
}

extension GroupChange: RepeatableChange {
    /// Overrides this change's properties with those present in `later`.
    mutating func merge(_ later: GroupChange) {
        displayName.merge(later.displayName)
        description.merge(later.description)
        mail.merge(later.mail)
        mailNickname.merge(later.mailNickname)
        mailEnabled.merge(later.mailEnabled)
        securityEnabled.merge(later.securityEnabled)
        groupTypes.merge(later.groupTypes)
    }
}

extension Patch {
    /// Takes `later` when it is present.
    mutating func merge(_ later: Patch) {
        if later.isPresent { self = later }
    }
}
