import Foundation

/// Values added after the first generated tenants: derived user and group properties, cost centres, contacts
/// and managers. Each kind comes from a stream of its own, so the values generated before stay as they were.
extension TenantGenerator {
    static let companies = ["Contoso Ltd", "Fabrikam GmbH", "Société Exemple SA", "株式会社サンプル", "Northwind Traders",
                            "Tailspin Toys", "Ørsted Partners ApS", "Wingtip Toys"]
    static let offices = ["Building 4/2109", "Zürich HQ 3.14", "Remote", "Kraków Office B", "東京 本社 12F", "Seattle Campus 40/1202"]
    static let employeeTypes = ["Employee", "Employee", "Employee", "Contractor", "Consultant", "Vendor"]
    static let locales = ["en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR", "pl-PL", "de-CH"]
    /// City, country, usage location and phone prefix, kept consistent per user.
    static let locations: [(city: String, country: String, usage: String, phone: String)] = [
        ("Seattle", "United States", "US", "+1 425 555"), ("Zürich", "Switzerland", "CH", "+41 44 555"),
        ("München", "Germany", "DE", "+49 89 555"), ("São Paulo", "Brazil", "BR", "+55 11 5555"),
        ("東京", "Japan", "JP", "+81 3 5555"), ("Kraków", "Poland", "PL", "+48 12 555"),
        ("London", "United Kingdom", "GB", "+44 20 7946"), ("Montréal", "Canada", "CA", "+1 514 555"),
    ]
    static let mailProviders = ["gmail.example", "Outlook.example", "WEB.de.example"]
    static let partnerDomains = ["fabrikam.example", "Contoso-Partner.example", "lieferant.example", "tailspin.example"]

    /// The generator of one generated object's derived values: depends only on the seed, the tenant, the
    /// object's index and what it derives (`kind`), so a value reads the same every time.
    static func objectRandom(seed: UInt64, tenant: Int, object: Int, kind: UInt64) -> SeededRandom {
        SeededRandom(seed: seed ^ (UInt64(truncatingIfNeeded: object) &* 0x9E37_79B9_7F4A_7C15),
                     stream: 60_000 + UInt64(tenant) &* 8 + kind)
    }

    /// A string, an explicit null or never set, with the given chances (`value` is drawn either way, so the
    /// stream advances the same for every outcome).
    static func maybe(_ value: String, set: Double, null: Double, _ rng: inout SeededRandom) -> PropertyValue {
        let roll = Double(rng.next() >> 11) / Double(1 << 53)
        if roll < set { return .string(value) }
        return roll < set + null ? .null : .unset
    }

    /// The ASCII given name and surname in a generated user's UPN (`given.sur.N@…` or `given.surN_…#EXT#@…`).
    static func asciiNames(upn: PropertyValue) -> (String, String) {
        guard case .string(let text) = upn else { return ("user", "name") }
        let local = text.prefix { $0 != "@" && $0 != "#" && $0 != "_" }
        let parts = local.split(separator: ".")
        let given = parts.first.map(String.init) ?? "user"
        let sur = parts.count > 1 ? String(parts[1].prefix { !$0.isNumber }) : "name"
        return (given, sur)
    }

    /// The derived properties (ordinals 10…28) of generated user `user`, given its contract values as generated.
    ///
    /// Members: about 40 % are synchronised from on-premises (sync enabled, immutable id, SAM account name, SID,
    /// extension attributes) and 5 % were synchronised once (sync disabled, the on-premises ids kept); guests are
    /// invitations, accepted or pending. Every property mixes values, explicit nulls and never-set values; about
    /// 2 % of users, created before 2014, have a null `createdDateTime` as Graph documents for old accounts.
    static func derivedUserValues(seed: UInt64, tenant: Int, user i: Int, stored v: [PropertyValue]) -> [PropertyValue] {
        var rng = objectRandom(seed: seed, tenant: tenant, object: i, kind: 0)
        var d = [PropertyValue](repeating: .unset, count: UserProperty.names.count - UserProperty.storedCount)
        func set(_ ordinal: Int, _ value: PropertyValue) { d[ordinal - UserProperty.storedCount] = value }
        let guest = v[UserProperty.userType] == .string("Guest")
        let (given, sur) = asciiNames(upn: v[UserProperty.userPrincipalName])
        let location = locations[rng.below(locations.count)]

        if !guest {
            set(UserProperty.employeeId, maybe("E" + String(100_000 + i), set: 0.7, null: 0.05, &rng))
            set(UserProperty.employeeType, maybe(rng.pick(employeeTypes), set: 0.6, null: 0.05, &rng))
            set(UserProperty.companyName, maybe(rng.pick(companies), set: 0.55, null: 0.05, &rng))
            set(UserProperty.officeLocation, maybe(rng.pick(offices), set: 0.5, null: 0.05, &rng))
        } else {
            set(UserProperty.companyName, maybe(rng.pick(companies), set: 0.4, null: 0.1, &rng))
        }
        let otherMails = rng.below(100)
        if otherMails < 25 {
            set(UserProperty.otherMails, .strings(["\(given).\(sur).\(i)@\(rng.pick(mailProviders))"]))
        } else if otherMails < 35 {
            set(UserProperty.otherMails, .strings([]))
        }
        let created = 1_293_840_000 + Double(rng.below(1_751_241_600 - 1_293_840_000))
        set(UserProperty.createdDateTime, created < 1_388_534_400 && rng.chance(0.5) ? .null : .string(isoTimestamp(created)))
        if guest {
            set(UserProperty.creationType, .string("Invitation"))
            set(UserProperty.externalUserState, .string(rng.chance(0.7) ? "Accepted" : "PendingAcceptance"))
        } else {
            if rng.chance(0.5) { set(UserProperty.creationType, .null) }
            if rng.chance(0.3) { set(UserProperty.externalUserState, .null) }
        }
        let sync = guest ? 100 : rng.below(100)
        if sync < 45 {
            set(UserProperty.onPremisesSyncEnabled, .bool(sync < 40))
            var guid: [UInt8] = []
            for _ in 0..<2 { withUnsafeBytes(of: rng.next()) { guid.append(contentsOf: $0) } }
            set(UserProperty.onPremisesImmutableId, .string(Data(guid).base64EncodedString()))
            set(UserProperty.onPremisesSamAccountName, .string(String("\(given).\(sur)".prefix(20))))
            var domain = SeededRandom(seed: seed, stream: 61_000 + UInt64(tenant))
            let a = domain.next() & 0xFFFF_FFFF, b = domain.next() & 0xFFFF_FFFF, c = domain.next() & 0xFFFF_FFFF
            set(UserProperty.onPremisesSecurityIdentifier, .string("S-1-5-21-\(a)-\(b)-\(c)-\(1100 + i)"))
            var attributes = ExtensionAttributes()
            attributes.values[0] = "D\(10 + rng.below(90))"
            attributes.values[1] = String(1000 + rng.below(9000))
            if rng.chance(0.3) { attributes.values[5] = rng.pick(["Zürich-Süd", "Île-de-France", "Østjylland", "関東"]) }
            attributes.values[9] = rng.chance(0.8) ? "EMP" : "CTR"
            set(UserProperty.onPremisesExtensionAttributes, .attributes(attributes))
        } else if sync < 65 {
            set(UserProperty.onPremisesSyncEnabled, .null)
            set(UserProperty.onPremisesExtensionAttributes, .attributes(ExtensionAttributes()))
        } else if rng.chance(0.5) {
            set(UserProperty.onPremisesExtensionAttributes, .attributes(ExtensionAttributes()))
        }
        set(UserProperty.preferredLanguage, maybe(rng.pick(locales), set: 0.6, null: 0.05, &rng))
        set(UserProperty.mobilePhone, maybe("\(location.phone) \(1000 + rng.below(9000))", set: 0.4, null: 0.08, &rng))
        let phones = rng.below(100)
        if phones < 50 {
            set(UserProperty.businessPhones, .strings(["\(location.phone) \(1000 + rng.below(9000))"]))
        } else if phones < 55 {
            set(UserProperty.businessPhones, .strings(["\(location.phone) \(1000 + rng.below(9000))", "\(location.phone) 0100"]))
        } else if phones < 75 {
            set(UserProperty.businessPhones, .strings([]))
        }
        set(UserProperty.usageLocation, maybe(location.usage, set: 0.75, null: 0.03, &rng))
        set(UserProperty.city, maybe(location.city, set: 0.55, null: 0.05, &rng))
        set(UserProperty.country, maybe(location.country, set: 0.55, null: 0.05, &rng))
        return d
    }

    /// The derived properties (ordinals 7…11) of generated group `group`, given its contract values as generated:
    /// Microsoft 365 groups have a visibility, mail-enabled groups proxy addresses, about a third of the other
    /// groups are synchronised from on-premises, every group has a creation time, and a quarter carry a
    /// classification.
    static func derivedGroupValues(seed: UInt64, tenant: Int, group g: Int, stored v: [PropertyValue]) -> [PropertyValue] {
        var rng = objectRandom(seed: seed, tenant: tenant, object: g, kind: 1)
        var d = [PropertyValue](repeating: .unset, count: GroupProperty.names.count - GroupProperty.storedCount)
        func set(_ ordinal: Int, _ value: PropertyValue) { d[ordinal - GroupProperty.storedCount] = value }
        var unified = false
        if case .strings(let types) = v[GroupProperty.groupTypes] { unified = types.contains("Unified") }
        if unified {
            set(GroupProperty.visibility, .string(rng.pick(["Public", "Private", "Private", "HiddenMembership"])))
        } else if rng.chance(0.5) {
            set(GroupProperty.visibility, .null)
        }
        set(GroupProperty.createdDateTime, .string(isoTimestamp(1_420_070_400 + Double(rng.below(1_751_241_600 - 1_420_070_400)))))
        if !unified {
            if rng.chance(0.3) { set(GroupProperty.onPremisesSyncEnabled, .bool(true)) } else if rng.chance(0.1) { set(GroupProperty.onPremisesSyncEnabled, .null) }
        }
        if case .string(let mail) = v[GroupProperty.mail] {
            var proxies = ["SMTP:" + mail]
            if rng.chance(0.5), let at = mail.firstIndex(of: "@") {
                proxies.append("smtp:" + mail[..<at].uppercased() + "-alias" + mail[at...])
            }
            set(GroupProperty.proxyAddresses, .strings(proxies))
        } else if rng.chance(0.6) {
            set(GroupProperty.proxyAddresses, .strings([]))
        }
        if rng.chance(0.25) { set(GroupProperty.classification, .string(rng.pick(["General", "Confidential", "Highly Confidential"]))) }
        return d
    }

    /// The generated cost centre (directory extension 0) of generated user `user`.
    static func costCenter(seed: UInt64, tenant: Int, user: Int) -> PropertyValue {
        var rng = objectRandom(seed: seed, tenant: tenant, object: user, kind: 2)
        return maybe("CC-\(1000 + rng.below(9000))", set: 0.55, null: 0.05, &rng)
    }

    /// The properties of generated contact `i`: partner people with SMTP and smtp proxy addresses in mixed
    /// case, non-ASCII names and companies, and values, nulls and never-set properties mixed.
    static func contactValues(_ i: Int, random rng: inout SeededRandom) -> [PropertyValue] {
        var v = [PropertyValue](repeating: .unset, count: ContactProperty.names.count)
        let (given, givenASCII) = rng.pick(givenNames)
        let (sur, surASCII) = rng.pick(surnames)
        v[ContactProperty.displayName] = .string("\(given) \(sur)")
        v[ContactProperty.givenName] = maybe(given, set: 0.9, null: 0.03, &rng)
        v[ContactProperty.surname] = maybe(sur, set: 0.9, null: 0.03, &rng)
        let mail = rng.below(100)
        if mail < 85 {
            let domain = rng.pick(partnerDomains)
            let address = "\(givenASCII.capitalized).\(surASCII.capitalized)@\(domain)"
            v[ContactProperty.mail] = .string(address)
            v[ContactProperty.mailNickname] = .string("\(givenASCII)\(surASCII)\(i)")
            var proxies = ["SMTP:" + address]
            if rng.chance(0.4) { proxies.append("smtp:\(givenASCII).\(surASCII)@\(domain.lowercased())") }
            if rng.chance(0.15) { proxies.append("smtp:\(surASCII.uppercased())\(i)@Mail.\(domain)") }
            v[ContactProperty.proxyAddresses] = .strings(proxies)
        } else if mail < 95 {
            v[ContactProperty.mail] = .null
            v[ContactProperty.mailNickname] = .string("\(givenASCII)\(surASCII)\(i)")
            v[ContactProperty.proxyAddresses] = .strings([])
        }
        v[ContactProperty.companyName] = maybe(rng.pick(companies), set: 0.7, null: 0.1, &rng)
        v[ContactProperty.jobTitle] = maybe(rng.pick(jobTitles), set: 0.6, null: 0.1, &rng)
        v[ContactProperty.department] = maybe(rng.pick(departments), set: 0.5, null: 0.05, &rng)
        return v
    }

    /// The generated managers: about 92 % of members report to a member generated before them (earlier users are
    /// more senior, so the reporting lines form a tree with a few very busy managers); guests and the first user
    /// have none.
    static func makeManagers(_ users: [DirectoryObject], random: SeededRandom) -> [MemberRef] {
        var rng = random
        var managers = [MemberRef](repeating: .none, count: users.count)
        func isGuest(_ u: Int) -> Bool { users[u].values[UserProperty.userType] == .string("Guest") }
        for u in users.indices where u > 0 && !isGuest(u) && rng.chance(0.92) {
            for _ in 0..<3 {
                let candidate = rng.below(max(1, u / 4))
                if !isGuest(candidate) {
                    managers[u] = MemberRef(kind: .user, index: candidate)
                    break
                }
            }
        }
        return managers
    }
}
