/// The position a `@odata.nextLink` of a plain list (`/users`, `/groups`, `/contacts`) or of a group's `/members`
/// stands for. Clients see only an opaque, tamper-checked `$skiptoken`.
///
/// A position names the last object sent, not a count of objects, so a chain resumes in the right place however the
/// directory changed meanwhile: objects created behind the position are not listed by this chain (delta reports them),
/// objects created ahead of it are.
public struct PageToken: Sendable, Equatable {
    /// What the chain lists.
    public enum Kind: UInt8, Sendable {
        /// `/users`, `/groups` or `/contacts`.
        case list = 1
        /// A group's `/members`.
        case members = 2
    }

    /// What the chain lists.
    public var kind: Kind
    /// The resource listed (`groups` for members).
    public var resource: Resource
    /// Tenant index.
    public var tenant: Int
    /// Simulator instance that issued the token; a token of another instance has expired.
    public var epoch: UInt32
    /// Fingerprint of what the chain lists (path and filter), so a token is refused on another query.
    public var query: UInt64
    /// Pages served in the chain so far.
    public var pagesServed: Int
    /// When the chain's first page was served (milliseconds since 1970).
    public var startedMillis: Int64
    /// Unfiltered lists: index of the last object sent. Members: packed reference of the last member sent.
    public var after: UInt32
    /// Filtered lists: the key (filtered property, lower-cased) of the last object sent.
    public var afterKey: String?

    /// Creates a token.
    public init(kind: Kind, resource: Resource, tenant: Int, epoch: UInt32, query: UInt64, pagesServed: Int,
                startedMillis: Int64, after: UInt32, afterKey: String?) {
        self.kind = kind
        self.resource = resource
        self.tenant = tenant
        self.epoch = epoch
        self.query = query
        self.pagesServed = pagesServed
        self.startedMillis = startedMillis
        self.after = after
        self.afterKey = afterKey
    }

    /// The first byte of every encoded page token (delta tokens start with 1).
    private static let marker: UInt8 = 2
    /// Bytes before the optional key.
    private static let fixedCount = 1 + 1 + 1 + 4 + 4 + 8 + 4 + 8 + 4 + 2

    /// Encodes the state as an opaque string, scrambled and checksummed with `key`.
    public func encode(key: UInt64) -> String {
        var bytes: [UInt8] = [Self.marker, kind.rawValue, resource.rawValue]
        func put(_ value: UInt64, _ count: Int) {
            for i in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * i))) }
        }
        put(UInt64(tenant), 4)
        put(UInt64(epoch), 4)
        put(query, 8)
        put(UInt64(pagesServed), 4)
        put(UInt64(bitPattern: startedMillis), 8)
        put(UInt64(after), 4)
        let keyBytes = afterKey.map { Array($0.utf8) }
        put(keyBytes.map { UInt64($0.count) + 1 } ?? 0, 2)
        bytes.append(contentsOf: keyBytes ?? [])
        put(Self.checksum(bytes, key: key), 8)
        var stream = SeededRandom(seed: key, stream: 2)
        return Base64URL.encode(bytes.map { $0 ^ UInt8(truncatingIfNeeded: stream.next()) })
    }

    /// Decodes a string produced by ``encode(key:)`` with the same key; nil if it was not, or was altered.
    public static func decode(_ text: String, key: UInt64) -> PageToken? {
        guard var bytes = Base64URL.decode(text), bytes.count >= fixedCount + 8, Base64URL.encode(bytes) == text else { return nil }
        var stream = SeededRandom(seed: key, stream: 2)
        for i in bytes.indices { bytes[i] ^= UInt8(truncatingIfNeeded: stream.next()) }
        var offset = 3
        func get(_ count: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<count { value |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
            offset += count
            return value
        }
        guard bytes[0] == marker, let kind = Kind(rawValue: bytes[1]), let resource = Resource(rawValue: bytes[2]) else { return nil }
        let tenant = Int(get(4)), epoch = UInt32(get(4)), query = get(8), pages = Int(get(4))
        let started = Int64(bitPattern: get(8)), after = UInt32(get(4)), keyLength = Int(get(2))
        let keyCount = max(0, keyLength - 1)
        guard bytes.count == fixedCount + keyCount + 8 else { return nil }
        let afterKey = keyLength == 0 ? nil : String(decoding: bytes[offset..<(offset + keyCount)], as: UTF8.self)
        offset += keyCount
        guard get(8) == checksum(Array(bytes[0..<(fixedCount + keyCount)]), key: key) else { return nil }
        return PageToken(kind: kind, resource: resource, tenant: tenant, epoch: epoch, query: query, pagesServed: pages,
                         startedMillis: started, after: after, afterKey: afterKey)
    }

    /// FNV-1a fingerprint of `text`, for ``query``.
    public static func fingerprint(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    private static func checksum(_ bytes: [UInt8], key: UInt64) -> UInt64 {
        var hash: UInt64 = 0x84222325CBF29CE4 ^ key
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}
