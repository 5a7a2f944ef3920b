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
    /// properties to null), soft and hard deletes and restores of users and groups, member adds and removes; and
    /// contacts created, changed and deleted, managers set, changed and removed, changes to the other user and group
    /// properties, to extension attributes and to directory extensions.
    ///
    /// About three operations in ten are of the kinds added with contacts, managers and the other properties. They
    /// draw from a stream of their own, so the operations of the original kinds keep their sequence for a seed.
    /// - Parameter now: Seconds since 1970, the `createdDateTime` of objects created.
    /// - Returns: Counts by operation name (`createUser`, `updateUser`, …, `addMember`, `removeMember`, `createContact`,
    ///   `updateContact`, `deleteContact`, `setManager`, `removeManager`).
    @discardableResult
    public mutating func applyRandomMutations(seed: UInt64, count: Int, now: Double? = nil) -> MutationCounts {
        var rng = SeededRandom(seed: seed, stream: 4242 + UInt64(index))
        var later = SeededRandom(seed: seed, stream: 5353 + UInt64(index))
        var counts: MutationCounts = [:]
        var attempts = 0
        var done = 0
        while done < count && attempts < count * 20 {
            attempts += 1
            var op = ""
            do {
                if later.chance(0.3) {
                    guard let name = try applyLaterKindMutation(&later, now: now) else { continue }
                    counts[name, default: 0] += 1
                    done += 1
                    continue
                }
                let roll = rng.below(100)
                switch roll {
                case 0..<6:
                    op = "createUser"
                    let name = rng.pick(Self.names)
                    var props: [String: JSONValue] = ["displayName": .string(name), "accountEnabled": .bool(rng.chance(0.9))]
                    if rng.chance(0.6) { props["jobTitle"] = .string(rng.pick(Self.titles)) }
                    if rng.chance(0.5) { props["proxyAddresses"] = .array([.string("SMTP:new\(users.count)@\(defaultDomain)")]) }
                    try create(.users, props: props, now: now)
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
                                                "description": rng.chance(0.5) ? .string("created at run time") : .null], now: now)
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
                        guard !contacts.isEmpty else { continue }
                        memberId = contacts[rng.below(contacts.count)].id
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

    private static let companies = ["Contoso Ltd", "Fabrikam GmbH", "Société Nouvelle SA", "株式会社テスト"]
    private static let cities = ["Zürich", "Seattle", "São Paulo", "Kraków", "東京"]

    /// One operation of the kinds added with contacts, managers and the other properties, drawn from `rng`.
    /// - Returns: Its name, or nil if the draw found nothing to change.
    private mutating func applyLaterKindMutation(_ rng: inout SeededRandom, now: Double?) throws(SimulatorInputError) -> String? {
        func liveUser() -> Int? { randomIndex(users.count, &rng) { users[$0].lifecycle == .live } }
        func text(_ value: String, nullChance: Double = 0.25) -> JSONValue {
            rng.chance(nullChance) ? .null : .string(value)
        }
        let roll = rng.below(100)
        switch roll {
        case 0..<20:
            guard let u = liveUser() else { return nil }
            var props: [String: JSONValue] = [:]
            switch rng.below(9) {
            case 0: props["employeeId"] = text("E\(rng.below(900_000) + 100_000)")
            case 1: props["companyName"] = text(rng.pick(Self.companies))
            case 2: props["officeLocation"] = text("Floor \(rng.below(40)) – Büro \(rng.below(300))")
            case 3: props["otherMails"] = .array((0..<rng.below(3)).map { .string("alt\($0).\(rng.below(9999))@Gmail.example") })
            case 4: props["mobilePhone"] = text("+41 79 555 \(1000 + rng.below(9000))")
            case 5: props["businessPhones"] = .array((0..<rng.below(2)).map { _ in .string("+1 425 555 \(1000 + rng.below(9000))") })
            case 6: props["city"] = text(rng.pick(Self.cities)); props["country"] = text("Country \(rng.below(20))")
            case 7: props["preferredLanguage"] = text(rng.pick(["en-US", "de-CH", "fr-FR", "ja-JP"])); props["usageLocation"] = text("CH")
            default: props["onPremisesSyncEnabled"] = rng.chance(0.3) ? .null : .bool(rng.chance(0.5))
            }
            return try update(.users, id: users[u].id, props: props) > 0 ? "updateUser" : nil
        case 20..<32:
            guard let u = liveUser() else { return nil }
            var keys: [String: JSONValue] = [:]
            for _ in 0..<(1 + rng.below(2)) {
                keys[ExtensionAttributes.key(rng.below(ExtensionAttributes.count))] = text("attr-\(rng.below(1000))-ä", nullChance: 0.3)
            }
            return try update(.users, id: users[u].id, props: ["onPremisesExtensionAttributes": .object(keys)]) > 0 ? "updateUser" : nil
        case 32..<42:
            guard !directoryExtensions.isEmpty, let u = liveUser() else { return nil }
            let ext = rng.below(directoryExtensions.count)
            let value: JSONValue
            switch directoryExtensions[ext].dataType {
            case .string: value = text("CC-\(1000 + rng.below(9000))")
            case .integer: value = rng.chance(0.25) ? .null : .number(Double(rng.below(100_000)))
            case .boolean: value = rng.chance(0.25) ? .null : .bool(rng.chance(0.5))
            }
            return try update(.users, id: users[u].id, props: [directoryExtensions[ext].name: value]) > 0 ? "updateUser" : nil
        case 42..<60:
            guard let u = liveUser() else { return nil }
            if !managers[u].isNone && rng.chance(0.3) {
                return try removeManager(userId: users[u].id) ? "removeManager" : nil
            }
            guard let m = liveUser(), m != u else { return nil }
            return try setManager(userId: users[u].id, managerId: users[m].id) ? "setManager" : nil
        case 60..<66:
            guard let g = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle == .live }) else { return nil }
            let props: [String: JSONValue]
            switch rng.below(3) {
            case 0: props = ["visibility": rng.chance(0.3) ? .null : .string(rng.pick(["Public", "Private", "HiddenMembership"]))]
            case 1: props = ["proxyAddresses": .array((0..<rng.below(3)).map { .string("\($0 == 0 ? "SMTP" : "smtp"):g\(g)-\($0)@\(defaultDomain)") })]
            default: props = ["onPremisesSyncEnabled": rng.chance(0.3) ? .null : .bool(rng.chance(0.5))]
            }
            return try update(.groups, id: groups[g].id, props: props) > 0 ? "updateGroup" : nil
        case 66..<74:
            let n = contacts.count
            var props: [String: JSONValue] = ["displayName": .string(rng.pick(Self.names)),
                                              "companyName": text(rng.pick(Self.companies))]
            if rng.chance(0.7) {
                props["mail"] = .string("Partner.\(n)@Fabrikam.example")
                props["proxyAddresses"] = .array([.string("SMTP:Partner.\(n)@Fabrikam.example"), .string("smtp:p\(n)@fabrikam.example")])
            }
            try create(.contacts, props: props, now: now)
            return "createContact"
        case 74..<90:
            guard let c = randomIndex(contacts.count, &rng, where: { contacts[$0].lifecycle == .live }) else { return nil }
            var props: [String: JSONValue] = [:]
            switch rng.below(5) {
            case 0: props["jobTitle"] = text(rng.pick(Self.titles))
            case 1: props["department"] = text("Abteilung \(rng.below(30))")
            case 2: props["companyName"] = text(rng.pick(Self.companies))
            case 3: props["displayName"] = .string(rng.pick(Self.names)); props["surname"] = text("Surname\(rng.below(50))")
            default: props["proxyAddresses"] = .array((0..<rng.below(3)).map { .string("\($0 == 0 ? "SMTP" : "smtp"):c\(c)-\($0)@Partner.example") })
            }
            return try update(.contacts, id: contacts[c].id, props: props) > 0 ? "updateContact" : nil
        case 90..<96:
            guard let c = randomIndex(contacts.count, &rng, where: { contacts[$0].lifecycle == .live }) else { return nil }
            try hardDelete(.contacts, id: contacts[c].id)
            return "deleteContact"
        default:
            guard let g = randomIndex(groups.count, &rng, where: { groups[$0].lifecycle == .live }),
                  let c = randomIndex(contacts.count, &rng, where: { contacts[$0].lifecycle == .live }) else { return nil }
            return try addMember(groupId: groups[g].id, memberId: contacts[c].id) ? "addMember" : nil
        }
    }
}
