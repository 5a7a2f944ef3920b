/// The deep nesting shape (``GroupNesting/deep``): the standard shape without its random nested groups, and this
/// lattice in their place, from a random stream of its own.
extension TenantGenerator {
    /// Layers of the lattice: the longest chain is this many groups deep.
    public static let deepLayers = 8
    /// Groups per layer, at most.
    public static let deepWidth = 12
    /// Transitive memberships the busiest users reach (fewer in a tenant with fewer groups).
    static let deepMemberships = 50

    /// The member count of the big nested group: 50,000, or half the users of a smaller tenant.
    public static func bigGroupSize(users: Int) -> Int { users >= 50_000 ? 50_000 : (users + 1) / 2 }

    /// Adds the deep shape to a generated tenant.
    ///
    /// Groups that are not Microsoft 365 groups (Entra nests groups only in those) are laid out in eight layers
    /// of up to twelve; each group of a layer becomes a member of two or three groups of the next layer, so
    /// chains run eight groups deep and many groups have two or three parents. The lowest layers hold the lowest
    /// group indices, as nested groups always have in generated tenants, so generation adds no cycle. The first
    /// group of the lowest layer receives ``bigGroupSize(users:)`` users, and a few of those users join enough
    /// further groups directly to be in at least fifty groups transitively.
    static func nestDeeply(_ tenant: inout Tenant, random rng: inout SeededRandom) {
        let groupCount = tenant.groups.count
        guard groupCount >= 2 else { return }
        var eligible = (0..<groupCount).filter { g in
            if case .strings(let types) = tenant.groups[g].values[GroupProperty.groupTypes] { return !types.contains("Unified") }
            return true
        }
        if eligible.count < deepLayers { eligible = Array(0..<groupCount) }
        let width = max(1, min(deepWidth, eligible.count / deepLayers))
        let layers = min(deepLayers, eligible.count / width)
        func group(_ layer: Int, _ position: Int) -> Int { eligible[layer * width + position % width] }

        var parents: [Int: [Int]] = [:]
        for layer in 0..<max(0, layers - 1) {
            for p in 0..<width {
                let child = group(layer, p)
                var offsets = [0, 1]
                if rng.chance(0.5) { offsets.append(3) }
                var added: Set<Int> = []
                for offset in offsets {
                    let parent = group(layer + 1, p + offset)
                    guard added.insert(parent).inserted else { continue }
                    insert(MemberRef(kind: .group, index: child), into: &tenant.members[parent])
                    parents[child, default: []].append(parent)
                }
            }
        }

        let userCount = tenant.users.count
        guard userCount > 0 else { return }
        let big = group(0, 0)
        let size = bigGroupSize(users: userCount)
        var joining: [MemberRef] = []
        joining.reserveCapacity(size)
        let start = rng.below(userCount)
        var step = rng.below(userCount) | 1
        while gcd(step, userCount) != 1 { step += 1 }
        for i in 0..<size { joining.append(MemberRef(kind: .user, index: (start + i * step) % userCount)) }
        let busiest = Array(joining.prefix(max(1, min(20, size / 1000))))
        joining.sort()
        tenant.members[big] = Tenant.mergedSorted(tenant.members[big], joining)

        func ancestors(of start: Int) -> Set<Int> {
            var seen: Set<Int> = [start]
            var queue = [start]
            while let g = queue.popLast() {
                for parent in parents[g] ?? [] where seen.insert(parent).inserted { queue.append(parent) }
            }
            return seen
        }
        let goal = min(deepMemberships, groupCount)
        let bigAncestors = ancestors(of: big)
        for user in busiest {
            var reached = bigAncestors
            var attempts = 0
            while reached.count < goal && attempts < groupCount * 4 {
                attempts += 1
                let g = rng.below(groupCount)
                guard !reached.contains(g) else { continue }
                insert(user, into: &tenant.members[g])
                reached.formUnion(ancestors(of: g))
            }
        }
    }

    /// Inserts `ref` into a sorted member list unless it is there already.
    private static func insert(_ ref: MemberRef, into list: inout [MemberRef]) {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid] < ref { low = mid + 1 } else { high = mid }
        }
        if low < list.count && list[low] == ref { return }
        list.insert(ref, at: low)
    }
}
