/// Seeded random batches of mutations covering every kind (for e2e tests, the demo and semantics tests).
extension Tenant {
    /// Counts of what a batch did, by operation name.
    public typealias MutationCounts = [String: Int]

    private func randomIndex(_ count: Int, _ rng: inout SeededRandom, where wanted: (Int) -> Bool) -> Int? {
        guard count > 0 else { return nil }
        for _ in 0..<24 {
            let i = rng.below(count)
            if wanted(i) { return i }
        }
        return nil
    }

    private static let titles = ["Engineer", "Lead", "Architecte", "Manager", "Analyst"]
    private static let names = ["Renée Dubois", "Zoë Müller", "Łukasz Nowak", "Ana Silva", "山田 太郎", "Ivan Petrov"]

    /// Applies `count` random operations drawn from `seed`: creates, partial updates (including clearing
    /// properties to null), soft and hard deletes and restores of users and groups, member adds and removes.
    /// - Returns: Counts by operation name (`createUser`, `updateUser`, …, `addMember`, `removeMember`).
    @discardableResult
    public mutating func applyRandomMutations(seed: UInt64, count: Int) -> MutationCounts {
        var rng = SeededRandom(seed: seed, stream: 4242 + UInt64(index))
        var counts: MutationCounts = [:]
        var attempts = 0
        var done = 0
        while done < count && attempts < count * 20 {
            attempts += 1
            let roll = rng.below(100)
            var op = ""
            do {
                switch roll {
                case 0..<6:
                    op = "createUser"
                    let name = rng.pick(Self.names)
                    var props: [String: JSONValue] = ["displayName": .string(name), "accountEnabled": .bool(rng.chance(0.9))]
                    if rng.chance(0.6) { props["jobTitle"] = .string(rng.pick(Self.titles)) }
                    if rng.chance(0.5) { props["proxyAddresses"] = .array([.string("SMTP:new\(users.count)@\(defaultDomain)")]) }
                    try create(.users, props: props)
                case 6..<30:
                    op = "updateUser"
                    guard let i = randomIndex(users.count, &rng, where: { users[$0].lifecycle == .live }) else { continue }
                    var props: [String: JSONValue] = [:]
                    switch rng.below(6) {
                    case 0: props["jobTitle"] = rng.chance(0.3) ? .null : .string(rng.pick(Self.titles))
                    case 1: props["department"] = rng.chance(0.3) ? .null : .string("Dept \(rng.below(20))")
                    case 2: props["accountEnabled"] = .bool(rng.chance(0.5))
                    case 3: props["mail"] = rng.chance(0.4) ? .null : .string("m\(rng.below(100000))@\(defaultDomain)")
                    case 4: props["displayName"] = .string(rng.pick(Self.names)); props["surname"] = rng.chance(0.2) ? .null : .string("Surname\(rng.below(50))")
                    default: props["proxyAddresses"] = .array((0..<rng.below(3)).map { .string("smtp:p\($0)-\(rng.below(999))@\(defaultDomain)") })
                    }
                    guard try update(.users, id: users[i].id, props: props) > 0 else { continue }
                case 30..<35:
                    op = "softDeleteUser"
                    guard let i = randomIndex(users.count, &rng, where: { users[$0].lifecycle == .live }) else { continue }
                    try softDelete(.users, id: users[i].id)
                case 35..<39:
                    op = "restoreUser"
                    guard let i = randomIndex(users.count, &rng, where: { users[$0].lifecycle == .softDeleted }) else { continue }
                    try restore(.users, id: users[i].id)
                case 39..<42:
                    op = "hardDeleteUser"
                    guard let i = randomIndex(users.count, &rng, where: { users[$0].lifecycle != .hardDeleted }) else { continue }
                    try hardDelete(.users, id: users[i].id)
                case 42..<45:
                    op = "createGroup"
                    try create(.groups, props: ["displayName": .string("New group \(groups.count) – ü"),
                                                "description": rng.chance(0.5) ? .string("created at run time") : .null])
                case 45..<53:
                    op = "updateGroup"
                    guard let i = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle == .live }) else { continue }
                    let props: [String: JSONValue] = rng.chance(0.5)
                        ? ["description": rng.chance(0.4) ? .null : .string("desc \(rng.below(1000))")]
                        : ["displayName": .string("Renamed \(rng.below(1000))")]
                    guard try update(.groups, id: groups[i].id, props: props) > 0 else { continue }
                case 53..<56:
                    op = "softDeleteGroup"
                    guard let i = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle == .live }) else { continue }
                    try softDelete(.groups, id: groups[i].id)
                case 56..<58:
                    op = "restoreGroup"
                    guard let i = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle == .softDeleted }) else { continue }
                    try restore(.groups, id: groups[i].id)
                case 58..<60:
                    op = "hardDeleteGroup"
                    guard let i = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle != .hardDeleted }) else { continue }
                    try hardDelete(.groups, id: groups[i].id)
                case 60..<85:
                    op = "addMember"
                    guard let g = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle == .live }) else { continue }
                    let kindRoll = rng.below(100)
                    let memberId: String
                    if kindRoll < 80 {
                        guard let u = randomIndex(users.count, &rng, where: { users[$0].lifecycle == .live }) else { continue }
                        memberId = users[u].id
                    } else if kindRoll < 88 {
                        guard let h = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle == .live && $0 != g }) else { continue }
                        memberId = groups[h].id
                    } else if kindRoll < 93 {
                        memberId = devices[rng.below(devices.count)]
                    } else if kindRoll < 97 {
                        memberId = servicePrincipals[rng.below(servicePrincipals.count)]
                    } else {
                        memberId = orgContacts[rng.below(orgContacts.count)]
                    }
                    guard try addMember(groupId: groups[g].id, memberId: memberId) else { continue }
                default:
                    op = "removeMember"
                    guard let g = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle == .live && !members[$0].isEmpty }) else { continue }
                    let ref = members[g][rng.below(members[g].count)]
                    guard try removeMember(groupId: groups[g].id, memberId: id(of: ref)) else { continue }
                }
            } catch {
                continue
            }
            counts[op, default: 0] += 1
            done += 1
        }
        return counts
    }
}
