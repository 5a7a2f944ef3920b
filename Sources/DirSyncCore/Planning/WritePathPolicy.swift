import Foundation

/// Chooses how a round's rows reach the tables, transaction by transaction.
///
/// The first full round of a tenant writes rows that cannot exist yet, and a plain COPY costs
/// PostgreSQL about half of a staged merge. So in a full round that started over a table without rows
/// of the tenant, objects the previous transaction did not write are COPYed straight in, until the
/// round stages a deletion (a later report of that object must un-stage it, which the merge does). An
/// object the previous transaction wrote (a group continued on the next page) is merged, or needs no
/// statement at all when its report adds nothing to what was written. A COPY that meets an existing
/// row anyway (Graph repeated an object) is rolled back by the store and its rows take the merge, so
/// the result never depends on the guess; after ``maxMisses`` such misses in a row the round stops
/// trying. Memberships follow the same rule. A transaction that rolls back ends the fast path: what
/// the policy believed about the rows may no longer hold.
public struct WritePathPolicy: Sendable, Equatable {
    /// Misses in a row after which the round stops COPYing new rows.
    public static let maxMisses = 3

    /// Where each object of a transaction goes; indices into the plan's objects. An object in
    /// neither list needs no statement.
    public struct ObjectRoute: Sendable, Equatable {
        /// COPY straight into the table (all of them, or none when one already exists).
        public var copy: [Int]
        /// Stage and merge.
        public var merge: [Int]

        public init(copy: [Int], merge: [Int]) {
            self.copy = copy
            self.merge = merge
        }
    }

    /// Whether objects are still COPYed straight in.
    public private(set) var copiesObjects: Bool
    /// Whether memberships are still COPYed straight in.
    public private(set) var copiesMemberships: Bool
    private var deletionsStaged = false
    /// Objects the previous transaction wrote, with the values known to be in their rows (every
    /// property present here is stored with this value).
    private var previous: [UUID: ObjectChange] = [:]
    private var objectMisses = 0
    private var membershipMisses = 0

    /// The policy for a round starting now.
    /// - Parameters:
    ///   - objectsExist: whether the tenant has rows in the resource's table.
    ///   - membershipsExist: whether the tenant has memberships (for a resource that reads them).
    public init(mode: RoundMode, objectsExist: Bool, membershipsExist: Bool, readsMemberships: Bool) {
        copiesObjects = mode == .full && !objectsExist
        copiesMemberships = mode == .full && readsMemberships && !membershipsExist
    }

    /// A policy that always merges (an incremental round, or a store that has not looked).
    public static let mergeOnly = WritePathPolicy(mode: .incremental, objectsExist: true, membershipsExist: true, readsMemberships: false)

    /// Routes a transaction's objects.
    public func route(_ objects: [ObjectChange]) -> ObjectRoute {
        guard copiesObjects, !deletionsStaged else { return ObjectRoute(copy: [], merge: Array(objects.indices)) }
        var route = ObjectRoute(copy: [], merge: [])
        for (index, object) in objects.enumerated() {
            if let earlier = previous[object.id] {
                // A repeat that brings nothing new (a group continued on the next page) needs no statement.
                if !object.addsNothing(to: earlier) { route.merge.append(index) }
            } else {
                route.copy.append(index)
            }
        }
        return route
    }

    /// A transaction wrote `objects` as routed; `copied` says whether the COPY went in (`nil`: none was tried).
    public mutating func wrote(_ objects: [ObjectChange], copied: Bool?) {
        let tracked = copiesObjects && !deletionsStaged
        switch copied {
        case true?: objectMisses = 0
        case false?:
            objectMisses += 1
            if objectMisses >= Self.maxMisses { copiesObjects = false }
        case nil: break
        }
        guard tracked else { return }
        var known: [UUID: ObjectChange] = [:]
        for object in objects {
            var values = previous[object.id] ?? object
            if previous[object.id] != nil { values.merge(object) }
            known[object.id] = values
        }
        previous = known
    }

    /// The COPY of a transaction's memberships went in (`true`) or met an existing row (`false`).
    public mutating func wroteMemberships(copied: Bool) {
        if copied {
            membershipMisses = 0
        } else {
            membershipMisses += 1
            if membershipMisses >= Self.maxMisses { copiesMemberships = false }
        }
    }

    /// The round staged a deletion: from now on every object is merged.
    public mutating func stagedDeletions() {
        deletionsStaged = true
    }

    /// A write transaction rolled back: nothing the policy believed about the rows holds any more.
    public mutating func rolledBack() {
        copiesObjects = false
        copiesMemberships = false
        previous = [:]
    }
}
