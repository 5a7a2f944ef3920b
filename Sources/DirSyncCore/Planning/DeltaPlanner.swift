import Foundation

/// Turns the objects of consecutive delta pages into a ``PagePlan``.
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
/// Because of this, one page and several consecutive pages planned together are the same thing to
/// the store: Graph's page boundaries carry no meaning.
public enum DeltaPlanner {
    /// Plans consecutive pages of one round together: the plan of one page holding all their objects
    /// in order. Applying it leaves the tables as applying each page's plan in turn would; only the
    /// number of transactions differs.
    /// - Precondition: every page belongs to `resource`.
    public static func plan(_ resource: DirectoryResource, pages: [DeltaPage]) -> PagePlan {
        plan(resource, objects: pages.flatMap(\.objects))
    }

    /// Plans the objects of one page (or of consecutive pages, in order).
    public static func plan(_ resource: DirectoryResource, objects: [ObjectChange]) -> PagePlan {
        var resolver = RepeatResolver()
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
        var plan = PagePlan(resource: resource)
        // An object seen only to carry membership changes (no properties) still counts as an upsert:
        // it exists, and a full round must see it.
        (plan.objects, plan.removals) = resolver.resolved()
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

/// Resolves repeated reports of objects (see ``DeltaPlanner`` for the rules).
struct RepeatResolver {
    private var order: [UUID] = []
    private var seen: Set<UUID> = []
    /// The merged properties of every report that was not a removal.
    private var upserts: [UUID: ObjectChange] = [:]
    /// Set while an object's latest report is a removal.
    private var removals: [UUID: DeletionReason] = [:]

    mutating func add(_ object: ObjectChange) {
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
    func resolved() -> ([ObjectChange], [ObjectRemoval]) {
        var changes: [ObjectChange] = []
        var removed: [ObjectRemoval] = []
        for id in order {
            if let change = upserts[id] { changes.append(change) }
            if let reason = removals[id] { removed.append(ObjectRemoval(id: id, reason: reason)) }
        }
        return (changes, removed)
    }
}

extension Patch {
    /// Takes `later` when it is present.
    mutating func merge(_ later: Patch) {
        if later.isPresent { self = later }
    }
}
