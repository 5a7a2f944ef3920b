/// How generated groups nest.
public enum GroupNesting: String, Sendable, CaseIterable {
    /// A few nested groups in the larger groups (about one member in fifty), as generated tenants always had.
    case standard
    /// A deep lattice instead of the standard random nesting, for benchmarks and tests: chains at least six groups
    /// deep, groups with two or three parent groups, one group with at least 50,000 members (half the users in
    /// smaller tenants) nested under other groups, and some users in at least fifty groups transitively (as many as
    /// a smaller tenant has). The standard shape's random nesting is left out here: over a large tenant its nested
    /// groups, drawn from all lower groups, chain into a closure where the median user is in hundreds of groups and
    /// one in ten in thousands, which is not how directories nest; the lattice keeps "some users in ≥ 50 groups".
    case deep
}

/// Sizes, nesting shape and seed for one generated tenant.
public struct TenantSpec: Sendable {
    /// Number of users.
    public var users: Int
    /// Number of groups.
    public var groups: Int
    /// Average members per group (about 2 % of groups are 20 times larger, about 5 % are empty).
    public var membersPerGroup: Int
    /// How groups nest.
    public var nesting: GroupNesting

    /// Creates a spec.
    public init(users: Int, groups: Int, membersPerGroup: Int, nesting: GroupNesting = .standard) {
        self.users = users
        self.groups = groups
        self.membersPerGroup = membersPerGroup
        self.nesting = nesting
    }
}

/// Builds deterministic, realistic tenants from a seed.
///
/// Realism the generator guarantees: non-ASCII names, never-set properties (absent in Graph output),
/// explicit `null` mail, guests with `#EXT#` UPNs, disabled accounts, several proxyAddresses,
/// Microsoft 365 / security / mail-enabled security groups, nested groups, device, service principal
/// and org contact members, managers, on-premises synced users with extension attributes, and a cost-centre
/// directory extension on the first app. Domain naming for tenant number K (1-based): `tenantK-verified.example`
/// (verified, default), `tenantK-unverified.example` (unverified), `tenantK.onmicrosoft.com` (initial) and
/// `tenantK-mail.example` (verified, email only).
///
/// Stability: everything a tenant had before contacts, managers and the derived properties existed (ids,
/// contract values, memberships of the standard shape) is drawn from the same streams as then, so the same seed
/// gives the same objects. Each newer kind of value has a stream of its own.
public enum TenantGenerator {
    static let givenNames: [(String, String)] = [
        ("José", "jose"), ("Zoë", "zoe"), ("Łukasz", "lukasz"), ("Björn", "bjorn"), ("Anaïs", "anais"),
        ("Søren", "soren"), ("Ngọc", "ngoc"), ("Иван", "ivan"), ("陽翔", "haruto"), ("Fatima", "fatima"),
        ("Olivia", "olivia"), ("Liam", "liam"), ("Chloé", "chloe"), ("Mateo", "mateo"), ("Aoife", "aoife"),
        ("Renée", "renee"), ("Jürgen", "jurgen"), ("Ana", "ana"), ("Noah", "noah"), ("Priya", "priya"),
        ("Kwame", "kwame"), ("Emma", "emma"), ("Dvořák", "dvorak"), ("Siobhán", "siobhan"),
    ]
    static let surnames: [(String, String)] = [
        ("García", "garcia"), ("Müller", "muller"), ("Nguyễn", "nguyen"), ("O'Brien", "obrien"), ("Smith", "smith"),
        ("Kowalski", "kowalski"), ("Ørsted", "orsted"), ("Петров", "petrov"), ("山田", "yamada"), ("Silva", "silva"),
        ("Johnson", "johnson"), ("Dubois", "dubois"), ("Rossi", "rossi"), ("Ñúñez", "nunez"), ("Öztürk", "ozturk"),
        ("Brown", "brown"), ("Lefèvre", "lefevre"), ("Khan", "khan"), ("Andersen", "andersen"), ("Mensah", "mensah"),
    ]
    static let jobTitles = ["Engineer", "Senior Engineer", "Sales Manager", "Analyst", "Ingénieure", "Consultant",
                            "Director", "Technician", "Accountant", "Support Specialist"]
    static let departments = ["Engineering", "Sales", "Finance", "Marketing", "Support", "Recherche & Développement",
                              "Vertrieb Süd", "Operations", "Legal"]
    static let groupTopics = ["Team", "Project", "Équipe", "Vertrieb", "営業部", "All Hands", "Admins", "Readers",
                              "Partners", "Alumni"]

    /// The domains of generated tenant number `number` (1-based): the default domain (email and Teams), an
    /// unverified one, the initial `*.onmicrosoft.com` domain (email) and one more verified email domain, so a
    /// tenant has verified email domains an operator may not have onboarded.
    public static func domains(number: Int) -> [TenantDomain] {
        [
            TenantDomain(name: "tenant\(number)-verified.example", isVerified: true, isDefault: true,
                         supportedServices: ["Email", "OfficeCommunicationsOnline"]),
            TenantDomain(name: "tenant\(number)-unverified.example", isVerified: false, supportedServices: []),
            TenantDomain(name: "tenant\(number).onmicrosoft.com", isVerified: true, isInitial: true, supportedServices: ["Email"]),
            TenantDomain(name: "tenant\(number)-mail.example", isVerified: true, supportedServices: ["Email"]),
        ]
    }

    /// Generates tenant `index` (0-based; its domains use number `index + 1`).
    /// - Parameters:
    ///   - seed: The simulator seed; the tenant id and every object follow from it.
    ///   - apps: App registrations to install in the tenant.
    public static func generate(index: Int, seed: UInt64, spec: TenantSpec, apps: [AppRegistration],
                                domains customDomains: [TenantDomain]? = nil, displayName: String? = nil) -> Tenant {
        var rng = SeededRandom(seed: seed, stream: UInt64(index) + 1)
        let number = index + 1
        let domains = customDomains ?? Self.domains(number: number)
        var tenant = Tenant(index: index, id: rng.guid(), displayName: displayName ?? "Tenant \(number) Ltd",
                            domains: domains, apps: apps)
        tenant.idSource = SeededRandom(seed: seed, stream: 10_000 + UInt64(index))
        tenant.generationSeed = seed
        if let app = apps.first {
            tenant.directoryExtensions = [DirectoryExtension(app: app.clientId, shortName: DirectoryExtension.costCenter, dataType: .string)]
            tenant.generatesCostCenter = true
        }
        let mainDomain = tenant.defaultDomain
        let initialDomain = domains.first(where: \.isInitial)?.name ?? mainDomain
        tenant.refs.reserveCapacity(spec.users + spec.groups + spec.users / 5 + 64)

        // Users
        tenant.users.reserveCapacity(spec.users)
        for i in 0..<spec.users {
            let id = rng.guid()
            let (given, givenASCII) = rng.pick(givenNames)
            let (sur, surASCII) = rng.pick(surnames)
            var v = [PropertyValue](repeating: .unset, count: UserProperty.storedCount)
            let guest = rng.chance(0.08)
            let upn: String
            if guest {
                upn = "\(givenASCII).\(surASCII)\(i)_partner.example#EXT#@\(initialDomain)"
                v[4] = .string("\(givenASCII).\(surASCII)\(i)@partner.example")
                v[8] = .string("Guest")
            } else {
                upn = "\(givenASCII).\(surASCII).\(i)@\(mainDomain)"
                let r = rng.below(100)
                v[4] = r < 75 ? .string(upn) : (r < 90 ? .null : .unset)
                v[8] = .string("Member")
            }
            v[0] = .string(upn)
            v[1] = .string("\(given) \(sur)")
            if !rng.chance(0.05) { v[2] = .string(given) }
            if !rng.chance(0.05) { v[3] = .string(sur) }
            let t = rng.below(100)
            v[5] = t < 60 ? .string(rng.pick(jobTitles)) : (t < 70 ? .null : .unset)
            if rng.chance(0.7) { v[6] = .string(rng.pick(departments)) }
            v[7] = .bool(!rng.chance(0.07))
            if case .string(let mail) = v[4], !guest {
                var proxies = ["SMTP:\(mail)"]
                let extra = rng.below(3)
                if extra >= 1 { proxies.append("smtp:\(givenASCII)\(i)@\(initialDomain)") }
                if extra >= 2 { proxies.append("smtp:\(surASCII).\(givenASCII).\(i)@\(mainDomain)") }
                v[9] = .strings(proxies)
            } else if rng.chance(0.5) {
                v[9] = .strings([])
            }
            tenant.users.append(DirectoryObject(id: id, values: v))
            tenant.refs[id] = MemberRef(kind: .user, index: i)
        }
        tenant.liveUsers = spec.users
        tenant.generatedUsers = spec.users
        tenant.managers = makeManagers(tenant.users, random: SeededRandom(seed: seed, stream: 40_000 + UInt64(index)))

        // Member-only objects
        func pool(_ count: Int, _ kind: MemberKind) -> [String] {
            var ids: [String] = []
            ids.reserveCapacity(count)
            for i in 0..<count {
                let id = rng.guid()
                ids.append(id)
                tenant.refs[id] = MemberRef(kind: kind, index: i)
            }
            return ids
        }
        tenant.devices = pool(max(1, spec.users / 10), .device)
        tenant.servicePrincipals = pool(20 + spec.users / 200, .servicePrincipal)
        var contactRandom = SeededRandom(seed: seed, stream: 30_000 + UInt64(index))
        tenant.contacts = pool(max(1, spec.users / 50), .orgContact).enumerated().map { i, id in
            DirectoryObject(id: id, values: contactValues(i, random: &contactRandom))
        }
        tenant.liveContacts = tenant.contacts.count

        // Groups
        tenant.groups.reserveCapacity(spec.groups)
        tenant.members.reserveCapacity(spec.groups)
        for g in 0..<spec.groups {
            let id = rng.guid()
            var v = [PropertyValue](repeating: .unset, count: GroupProperty.storedCount)
            let topic = rng.pick(groupTopics)
            let nick = "grp\(g)-\(id.prefix(4))"
            v[0] = .string("\(topic) \(g)")
            let d = rng.below(100)
            v[1] = d < 50 ? .string("\(topic) group number \(g) – généré") : (d < 70 ? .null : .unset)
            v[3] = .string(nick)
            let kind = rng.below(100)
            if kind < 30 {
                v[2] = .string("\(nick)@\(mainDomain)"); v[4] = .bool(true); v[5] = .bool(false); v[6] = .strings(["Unified"])
            } else if kind < 90 {
                v[2] = .null; v[4] = .bool(false); v[5] = .bool(true); v[6] = .strings([])
            } else {
                v[2] = .string("\(nick)@\(mainDomain)"); v[4] = .bool(true); v[5] = .bool(true); v[6] = .strings([])
            }
            tenant.groups.append(DirectoryObject(id: id, values: v))
            tenant.refs[id] = MemberRef(kind: .group, index: g)
            tenant.members.append(makeMembers(group: g, spec: spec, tenant: tenant, rng: &rng))
        }
        tenant.liveGroups = spec.groups
        if spec.nesting == .deep {
            var nestingRandom = SeededRandom(seed: seed, stream: 50_000 + UInt64(index))
            nestDeeply(&tenant, random: &nestingRandom)
        }
        return tenant
    }

    private static func makeMembers(group g: Int, spec: TenantSpec, tenant: Tenant, rng: inout SeededRandom) -> [MemberRef] {
        let average = spec.membersPerGroup
        guard average > 0 else { return [] }
        let roll = rng.below(100)
        let size: Int
        if roll < 5 { size = 0 } else if roll < 7 { size = average * 20 } else { size = rng.below(max(1, average * 135 / 100)) + 1 }
        guard size > 0 else { return [] }
        var list: [MemberRef] = []
        list.reserveCapacity(size)
        func sample(_ count: Int, from poolSize: Int, kind: MemberKind) {
            let n = min(count, poolSize)
            guard n > 0 else { return }
            let start = rng.below(poolSize)
            var step = rng.below(poolSize) | 1
            while gcd(step, poolSize) != 1 { step += 1 }
            for i in 0..<n { list.append(MemberRef(kind: kind, index: (start + i * step) % poolSize)) }
        }
        let nested = g > 0 ? size / 50 : 0
        let devices = size * 3 / 100, sps = size * 2 / 100, contacts = size * 3 / 100
        let userCount = size - nested - devices - sps - contacts
        sample(userCount, from: tenant.users.count, kind: .user)
        sample(nested, from: g, kind: .group)
        sample(devices, from: tenant.devices.count, kind: .device)
        sample(sps, from: tenant.servicePrincipals.count, kind: .servicePrincipal)
        sample(contacts, from: tenant.contacts.count, kind: .orgContact)
        // The deep shape's lattice takes the place of the random nesting (drawn all the same, so every other
        // member and value stays as the standard shape has it).
        if spec.nesting == .deep { list.removeAll { $0.kind == .group } }
        list.sort()
        return list
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }
}
