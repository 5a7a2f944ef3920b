/// The state a `$skiptoken` or `$deltatoken` stands for. Clients see only an opaque, tamper-checked string.
public struct DeltaToken: Sendable, Equatable {
    /// True for a deltaLink token (a finished round), false for a nextLink skiptoken.
    public var isDelta: Bool
    /// Which resource.
    public var resource: Resource
    /// Tenant index the token belongs to.
    public var tenant: Int
    /// Simulator instance the token was issued by; tokens of another instance are unknown sync states.
    public var epoch: UInt32
    /// `$select` of the round.
    public var selection: DeltaSelection
    /// Log position the round starts after; -1 for a full (initial) round.
    public var from: Int
    /// Log head when the round started; the round's deltaLink resumes from here.
    public var head: Int
    /// Full rounds: objects that existed when the round started (later ones come in the next round).
    public var bound: Int
    /// Index of the next item to send.
    public var item: Int
    /// Within a group split over pages: the last member reference sent, or nil.
    public var memberAfter: MemberRef?
    /// When the token was issued (milliseconds since 1970).
    public var issuedAtMillis: Int64
    /// Set on the link that follows a deliberately empty page, so the same position is not emptied twice.
    public var afterEmptyPage = false
    /// A scoped round (`groups/delta?$filter=id eq '…' or …`): the groups it covers, by index, sorted;
    /// nil for the whole resource.
    public var scope: [Int32]?

    /// Creates a token state.
    public init(isDelta: Bool, resource: Resource, tenant: Int, epoch: UInt32, selection: DeltaSelection,
                from: Int, head: Int, bound: Int, item: Int, memberAfter: MemberRef?, issuedAtMillis: Int64) {
        self.isDelta = isDelta
        self.resource = resource
        self.tenant = tenant
        self.epoch = epoch
        self.selection = selection
        self.from = from
        self.head = head
        self.bound = bound
        self.item = item
        self.memberAfter = memberAfter
        self.issuedAtMillis = issuedAtMillis
    }

    /// Encodes the state as an opaque string, scrambled and checksummed with `key`.
    public func encode(key: UInt64) -> String {
        var bytes: [UInt8] = [scope == nil ? 1 : 2, isDelta ? 1 : 0, resource.rawValue]
        func put(_ value: UInt64, _ count: Int) {
            for i in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * i))) }
        }
        put(UInt64(tenant), 4)
        put(UInt64(epoch), 4)
        put(selection.returned, 8)
        bytes.append((selection.members ? 1 : 0) | (selection.isDefault ? 2 : 0) | (afterEmptyPage ? 4 : 0) | (selection.manager ? 8 : 0))
        put(UInt64(bitPattern: Int64(from)), 8)
        put(UInt64(head), 8)
        put(UInt64(bound), 8)
        put(UInt64(item), 8)
        put(memberAfter.map { UInt64($0.raw) + 1 } ?? 0, 5)
        put(UInt64(bitPattern: issuedAtMillis), 8)
        if let scope {
            bytes.append(UInt8(scope.count))
            for index in scope { put(UInt64(UInt32(bitPattern: index)), 4) }
        }
        put(Self.checksum(bytes, key: key), 8)
        var stream = SeededRandom(seed: key)
        return Base64URL.encode(bytes.map { $0 ^ UInt8(truncatingIfNeeded: stream.next()) })
    }

    /// Decodes a string produced by ``encode(key:)`` with the same key; nil if it was not, or was altered.
    public static func decode(_ text: String, key: UInt64) -> DeltaToken? {
        // Only the canonical encoding is accepted: base64 ignores the spare bits of a last character, and an altered
        // character must not decode to the same token.
        guard var bytes = Base64URL.decode(text), bytes.count >= 73, Base64URL.encode(bytes) == text else { return nil }
        var stream = SeededRandom(seed: key)
        for i in bytes.indices { bytes[i] ^= UInt8(truncatingIfNeeded: stream.next()) }
        var offset = 0
        func get(_ count: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<count { value |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
            offset += count
            return value
        }
        let body = Array(bytes[0..<(bytes.count - 8)])
        let scoped = bytes[0] == 2
        guard bytes[0] == 1 || scoped, let resource = Resource(rawValue: bytes[2]) else { return nil }
        guard scoped ? bytes.count == 74 + 4 * Int(bytes[65]) : bytes.count == 73 else { return nil }
        let isDelta = bytes[1] == 1
        offset = 3
        let tenant = Int(get(4))
        let epoch = UInt32(get(4))
        let returned = get(8)
        let flags = get(1)
        let from = Int(Int64(bitPattern: get(8)))
        let head = Int(get(8)), bound = Int(get(8)), item = Int(get(8))
        let after = get(5)
        let issued = Int64(bitPattern: get(8))
        var scope: [Int32]?
        if scoped {
            let count = Int(get(1))
            scope = (0..<count).map { _ in Int32(bitPattern: UInt32(get(4))) }
        }
        guard get(8) == checksum(body, key: key) else { return nil }
        var token = DeltaToken(isDelta: isDelta, resource: resource, tenant: tenant, epoch: epoch,
                               selection: DeltaSelection(returned: returned, members: flags & 1 != 0, manager: flags & 8 != 0,
                                                          isDefault: flags & 2 != 0),
                               from: from, head: head, bound: bound, item: item,
                               memberAfter: after == 0 ? nil : MemberRef(raw: UInt32(after - 1)), issuedAtMillis: issued)
        token.afterEmptyPage = flags & 4 != 0
        token.scope = scope
        return token
    }

    private static func checksum(_ bytes: [UInt8], key: UInt64) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ key
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}
