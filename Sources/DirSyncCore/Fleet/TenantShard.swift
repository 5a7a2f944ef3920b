import Foundation

/// One of `count` disjoint slices of the tenant fleet, for running several `dirsync run` processes
/// side by side (`dirsync run --shard K/N`, e.g. a Kubernetes Indexed Job with N completions).
///
/// A tenant belongs to shard `K` of `N` when `TenantShard.index(ofTenant:count:)` returns `K`. That
/// index is a pure function of the tenant id and `N`:
///
/// 1. take the tenant id in its canonical lower-case form (`72f988bf-86f1-41af-91ab-2d7cd011db47`),
/// 2. compute SHA-256 over its UTF-8 bytes,
/// 3. read the first 8 bytes of the digest as a big-endian `UInt64`,
/// 4. take it modulo `N`.
///
/// So the assignment is the same in every process, on every machine and in every dirsync version,
/// needs no coordination and no state, and spreads tenants evenly (the modulo bias of a 64-bit value
/// is negligible for any realistic `N`). Every tenant lands in exactly one shard of a given `N`, and
/// all domains of one tenant land together because only the tenant id is hashed.
///
/// Changing `N` reassigns most tenants. That is safe: each tenant's sync runs under its own
/// PostgreSQL advisory lock, so a tenant claimed by an old and a new shard at once is synced by
/// whichever run gets the lock first and skipped by the other.
public struct TenantShard: Sendable, Hashable, CustomStringConvertible {
    /// This shard's index, `0 ..< count`.
    public let index: Int
    /// How many shards the fleet is split into, at least 1.
    public let count: Int

    /// Why a shard specification was refused; `description` is worded for the `--shard` flag.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        /// The specification as given.
        public var specification: String
        /// What is wrong with it.
        public var reason: String

        public var description: String {
            "--shard must be K/N with N at least 1 and K from 0 to N-1 (for example 0/4), not \"\(specification)\": \(reason)"
        }
    }

    /// The shard `index` of `count`.
    /// - Throws: `Invalid` unless `count >= 1` and `0 <= index < count`.
    public init(index: Int, count: Int) throws(Invalid) {
        guard count >= 1 else { throw Invalid(specification: "\(index)/\(count)", reason: "N must be at least 1") }
        guard (0..<count).contains(index) else {
            throw Invalid(specification: "\(index)/\(count)", reason: "K must be from 0 to \(count - 1)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `K/N` as written on the command line: two decimal numbers, no signs or spaces.
    /// - Throws: `Invalid` naming what is wrong, including an unexpanded `$(JOB_COMPLETION_INDEX)`.
    public init(parsing specification: String) throws(Invalid) {
        let parts = specification.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw Invalid(specification: specification, reason: "expected exactly one '/'") }
        func number(_ part: Substring, _ name: String) throws(Invalid) -> Int {
            if part.contains("$(") || part.contains("${") {
                throw Invalid(specification: specification,
                              reason: "\(name) is an unexpanded variable; in a Kubernetes Indexed Job (completionMode: Indexed) JOB_COMPLETION_INDEX is set and $(JOB_COMPLETION_INDEX) is expanded in args")
            }
            guard !part.isEmpty, part.utf8.count <= 9, part.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(part) else {
                throw Invalid(specification: specification, reason: "\(name) is not a whole number")
            }
            return value
        }
        let index = try number(parts[0], "K")
        let count = try number(parts[1], "N")
        do {
            try self.init(index: index, count: count)
        } catch {
            throw Invalid(specification: specification, reason: error.reason)
        }
    }

    /// `K/N`, the form `init(parsing:)` accepts.
    public var description: String { "\(index)/\(count)" }

    /// Whether this shard syncs `tenantID`.
    public func owns(_ tenantID: UUID) -> Bool {
        Self.index(ofTenant: tenantID, count: count) == index
    }

    /// The shard (`0 ..< count`) that owns `tenantID` when the fleet is split `count` ways.
    /// - Precondition: `count >= 1`.
    public static func index(ofTenant tenantID: UUID, count: Int) -> Int {
        index(ofTenant: tenantID.uuidString, count: count)
    }

    /// The shard (`0 ..< count`) that owns the tenant with id `tenantID`, hashed in lower case so
    /// `72F988BF-…` and `72f988bf-…` agree.
    /// - Precondition: `count >= 1`.
    public static func index(ofTenant tenantID: String, count: Int) -> Int {
        precondition(count >= 1, "a fleet has at least one shard")
        return Int(key(ofTenant: tenantID) % UInt64(count))
    }

    /// The 64-bit value shards are taken from: the first 8 bytes, big-endian, of the SHA-256 of the
    /// lower-case tenant id. Exposed so the definition can be checked against fixed vectors.
    public static func key(ofTenant tenantID: String) -> UInt64 {
        let digest = SHA256.digest(Array(tenantID.lowercased().utf8))
        return digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
