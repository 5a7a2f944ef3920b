import Foundation

/// The nesting closure of a tenant's groups, built at once from its nested memberships: for every
/// group, every group above it, at the length of the shortest chain of memberships that reaches it.
///
/// This is what `directory.rebuild_group_ancestors` computes in SQL, level by level. A first round
/// of groups fills a whole tenant, and building its closure here (a breadth-first walk per group
/// over a few thousand edges) and copying the rows in takes a fraction of the time the SQL levels
/// take, because PostgreSQL then only stores rows instead of also joining and de-duplicating every
/// level. Later rounds keep the closure with every page, in the tables' triggers.
///
/// The rules are the SQL function's: an edge is a live group that is a member of a live group;
/// a group is never its own ancestor, so cycles end; repeated edges count once.
///
/// ```swift
/// let closure = NestingClosure(edges: [(child: team, parent: department), (child: department, parent: company)])
/// for (group, ancestors) in closure.groupsWithAncestors { … }
/// // team: department at 1, company at 2; department: company at 1
/// ```
public struct NestingClosure: Sendable {
    /// One group above another.
    public struct Ancestor: Sendable, Equatable {
        public var id: UUID
        /// 1 for a direct membership, more through nested groups (the shortest chain).
        public var depth: Int

        public init(id: UUID, depth: Int) {
            self.id = id
            self.depth = depth
        }
    }

    /// Every group named by an edge, in PostgreSQL's `uuid` order (byte order).
    private let groups: [UUID]
    /// For each group (index into `groups`), the groups it is a direct member of.
    private let parents: [[Int32]]

    /// - Parameter edges: nested memberships, `child` a member of `parent`. Self-memberships are ignored.
    public init(edges: some Sequence<(child: UUID, parent: UUID)>) {
        var ids = Set<UUID>()
        var pairs: [(child: UUID, parent: UUID)] = []
        for edge in edges where edge.child != edge.parent {
            pairs.append(edge)
            ids.insert(edge.child)
            ids.insert(edge.parent)
        }
        groups = ids.sorted(by: NestingClosure.databaseOrder)
        var index: [UUID: Int32] = [:]
        index.reserveCapacity(groups.count)
        for (position, id) in groups.enumerated() { index[id] = Int32(position) }
        var parents = [[Int32]](repeating: [], count: groups.count)
        for pair in pairs {
            let child = Int(index[pair.child]!)
            parents[child].append(index[pair.parent]!)
        }
        for group in parents.indices where parents[group].count > 1 {
            var unique: [Int32] = []
            for parent in parents[group].sorted() where unique.last != parent { unique.append(parent) }
            parents[group] = unique
        }
        self.parents = parents
    }

    /// Every group with at least one ancestor, in `uuid` order, with its ancestors in `uuid` order:
    /// the primary key's order of `directory.group_ancestors`, so rows copied in this order fill its
    /// index from left to right. A walk computes one group's ancestors at a time, as it is asked.
    public var groupsWithAncestors: Walk { Walk(groups: groups, parents: parents) }

    /// Breadth first from each group in turn.
    public struct Walk: Sequence, IteratorProtocol {
        private let groups: [UUID]
        private let parents: [[Int32]]
        private var start = 0
        /// `seenBy[g] == start` marks g as reached in the walk from `start`.
        private var seenBy: [Int32]
        private var depthOf: [Int32]
        private var queue: [Int32] = []

        fileprivate init(groups: [UUID], parents: [[Int32]]) {
            self.groups = groups
            self.parents = parents
            seenBy = [Int32](repeating: -1, count: groups.count)
            depthOf = [Int32](repeating: 0, count: groups.count)
        }

        public mutating func next() -> (group: UUID, ancestors: [Ancestor])? {
            while start < parents.count, parents[start].isEmpty { start += 1 }
            guard start < parents.count else { return nil }
            let mark = Int32(start)
            seenBy[start] = mark
            depthOf[start] = 0
            queue.removeAll(keepingCapacity: true)
            queue.append(mark)
            var head = 0
            while head < queue.count {
                let group = Int(queue[head])
                head += 1
                for parent in parents[group] where seenBy[Int(parent)] != mark {
                    seenBy[Int(parent)] = mark
                    depthOf[Int(parent)] = depthOf[group] + 1
                    queue.append(parent)
                }
            }
            // Indices follow `uuid` order, so sorting them sorts the ancestors (the start is first in the queue).
            let reached = queue.dropFirst().sorted()
            let group = groups[start]
            start += 1
            return (group, reached.map { Ancestor(id: groups[Int($0)], depth: Int(depthOf[Int($0)])) })
        }
    }

    /// PostgreSQL orders `uuid` values by their bytes (`memcmp`).
    static func databaseOrder(_ a: UUID, _ b: UUID) -> Bool {
        withUnsafeBytes(of: a.uuid) { left in
            withUnsafeBytes(of: b.uuid) { right in
                for i in 0..<16 where left[i] != right[i] { return left[i] < right[i] }
                return false
            }
        }
    }
}
