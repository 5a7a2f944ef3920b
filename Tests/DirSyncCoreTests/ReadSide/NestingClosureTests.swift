import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

@Suite("Nesting closure built at once from a tenant's nested memberships")
struct NestingClosureTests {
    private func id(_ n: Int) -> UUID { UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", n))! }

    /// The closure as `[group: [ancestor: depth]]`, with the walk's order checked on the way.
    private func closure(_ edges: [(Int, Int)]) -> [Int: [Int: Int]] {
        let number = { (uuid: UUID) in Int(uuid.uuidString.suffix(12))! }
        var result: [Int: [Int: Int]] = [:]
        var previous: UUID?
        for (group, ancestors) in NestingClosure(edges: edges.map { (child: id($0.0), parent: id($0.1)) }).groupsWithAncestors {
            if let previous { #expect(previous.uuidString < group.uuidString, "groups come in uuid order") }
            previous = group
            #expect(ancestors.map(\.id.uuidString) == ancestors.map(\.id.uuidString).sorted(), "ancestors come in uuid order")
            #expect(!ancestors.isEmpty, "only groups with ancestors are walked")
            result[number(group)] = Dictionary(uniqueKeysWithValues: ancestors.map { (number($0.id), $0.depth) })
        }
        return result
    }

    @Test("a chain gives every group each group above it, one level per step")
    func chain() {
        #expect(closure([(1, 2), (2, 3), (3, 4)]) == [1: [2: 1, 3: 2, 4: 3], 2: [3: 1, 4: 2], 3: [4: 1]])
    }

    @Test("two chains to the same group: the ancestor is at the length of the shorter one")
    func shortestChainWins() {
        #expect(closure([(1, 2), (2, 3), (3, 4), (1, 4)])[1] == [2: 1, 3: 2, 4: 1])
    }

    @Test("a cycle ends: each group of a cycle has the others as ancestors and never itself")
    func cyclesEnd() {
        #expect(closure([(1, 2), (2, 3), (3, 1)]) == [1: [2: 1, 3: 2], 2: [3: 1, 1: 2], 3: [1: 1, 2: 2]])
    }

    @Test("a group nested in itself is ignored and a repeated edge counts once")
    func selfAndRepeatedEdges() {
        #expect(closure([(1, 1), (1, 2), (1, 2), (2, 2)]) == [1: [2: 1]])
        #expect(closure([]).isEmpty)
    }

    @Test("groups are walked in PostgreSQL's uuid order (byte order), whatever order their edges came in")
    func databaseOrder() {
        let low = UUID(uuidString: "0fffffff-ffff-4fff-8fff-ffffffffffff")!, high = UUID(uuidString: "a0000000-0000-4000-8000-000000000000")!
        let walked = NestingClosure(edges: [(child: high, parent: low), (child: low, parent: high)]).groupsWithAncestors.map(\.group)
        #expect(walked == [low, high])
    }

    @Test("on random graphs with cycles, every pair and depth equals shortest paths found by relaxing all edges to a fixpoint")
    func randomGraphsMatchShortestPaths() {
        var random = SplitMix64(seed: 2026)
        for round in 0..<40 {
            let groups = 2 + random.int(30)
            var edges: [(Int, Int)] = []
            for _ in 0..<random.int(groups * 2) { edges.append((1 + random.int(groups), 1 + random.int(groups))) }
            // Oracle: distance[g][a] relaxed over every edge until nothing shortens.
            var distance: [Int: [Int: Int]] = [:]
            for (child, parent) in edges where child != parent { distance[child, default: [:]][parent] = 1 }
            var changed = true
            while changed {
                changed = false
                for (group, ancestors) in distance {
                    for (ancestor, depth) in ancestors {
                        for (next, step) in distance[ancestor] ?? [:] where next != group {
                            if (distance[group]?[next] ?? .max) > depth + step { distance[group]![next] = depth + step; changed = true }
                        }
                    }
                }
            }
            #expect(closure(edges) == distance, "round \(round): \(edges)")
        }
    }
}
