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
        var order: [UUID] = []
        var upserts: [UUID: UserChange] = [:]
        var removals: [UUID: DeletionReason] = [:]
        for object in objects {
            if upserts[object.id] == nil && removals[object.id] == nil { order.append(object.id) }
            if let reason = object.removed {
                upserts[object.id] = nil
                removals[object.id] = DeletionReason(reason)
            } else if removals.removeValue(forKey: object.id) != nil || upserts[object.id] == nil {
                upserts[object.id] = object
            } else {
                upserts[object.id]!.merge(object)
            }
        }
        var plan = PagePlan()
        for id in order {
            if let user = upserts[id] { plan.users.append(user) }
            if let reason = removals[id] { plan.removals.append(ObjectRemoval(id: id, reason: reason)) }
        }
        return plan
    }

    /// Plans a page of `/groups/delta`, including its `members@delta` slices.
    public static func plan(groups objects: [GroupChange]) -> PagePlan {
        var order: [UUID] = []
        var upserts: [UUID: GroupChange] = [:]
        var removals: [UUID: DeletionReason] = [:]
        var memberOrder: [MembershipRemoval] = []
        var members: [MembershipRemoval: MemberChange] = [:]
        for object in objects {
            if upserts[object.id] == nil && removals[object.id] == nil { order.append(object.id) }
            if let reason = object.removed {
                upserts[object.id] = nil
                removals[object.id] = DeletionReason(reason)
                continue
            }
            var properties = object
            properties.memberChanges = []
            if removals.removeValue(forKey: object.id) != nil || upserts[object.id] == nil {
                upserts[object.id] = properties
            } else {
                upserts[object.id]!.merge(properties)
            }
            for change in object.memberChanges {
                let key = MembershipRemoval(groupID: object.id, memberID: change.memberID)
                if members.updateValue(change, forKey: key) == nil { memberOrder.append(key) }
            }
        }
        var plan = PagePlan()
        for id in order {
            // A group seen only to carry membership changes (no properties) still counts as an
            // upsert: it exists, and a full round must see it.
            if let group = upserts[id] { plan.groups.append(group) }
            if let reason = removals[id] { plan.removals.append(ObjectRemoval(id: id, reason: reason)) }
        }
        for key in memberOrder where removals[key.groupID] == nil {
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

extension UserChange {
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

extension GroupChange {
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
