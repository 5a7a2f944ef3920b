import DirSyncCore
import DirSyncTestDoubles

import Foundation
import Testing

@Suite("TenantShard")
struct TenantShardTests {
    // Vectors computed independently: int.from_bytes(hashlib.sha256(tid.encode()).digest()[:8], "big").
    // If one of these changes, every sharded fleet would reshuffle on upgrade: do not "fix" the vectors.
    @Test("the shard key and index match fixed vectors, so assignment is stable across processes, machines and versions", arguments: [
        ("72f988bf-86f1-41af-91ab-2d7cd011db47", UInt64(0x2ae8_f806_6baa_b9e3), [1: 0, 2: 1, 3: 2, 4: 3, 7: 3, 16: 3, 100: 47]),
        ("00000000-0000-0000-0000-000000000000", UInt64(0x12b9_377c_be7e_5c94), [1: 0, 2: 0, 3: 2, 4: 0, 7: 1, 16: 4, 100: 68]),
        ("ffffffff-ffff-ffff-ffff-ffffffffffff", UInt64(0x1398_4ab8_78f9_1502), [1: 0, 2: 0, 3: 2, 4: 2, 7: 3, 16: 2, 100: 46]),
        ("9188040d-6c67-4c5b-b112-36a304b66dad", UInt64(0x391a_b33f_dbbe_c5d8), [1: 0, 2: 0, 3: 1, 4: 0, 7: 3, 16: 8, 100: 52]),
        ("11111111-2222-3333-4444-555555555555", UInt64(0x666f_f6cc_aa5b_3c07), [1: 0, 2: 1, 3: 1, 4: 3, 7: 4, 16: 7, 100: 31]),
    ])
    func fixedVectors(tenant: String, key: UInt64, indexByCount: [Int: Int]) throws {
        #expect(TenantShard.key(ofTenant: tenant) == key)
        let uuid = try #require(UUID(uuidString: tenant))
        for (count, expected) in indexByCount {
            #expect(TenantShard.index(ofTenant: tenant, count: count) == expected, "N=\(count)")
            #expect(TenantShard.index(ofTenant: uuid, count: count) == expected, "UUID overload, N=\(count)")
        }
    }

    @Test("the tenant id is hashed in lower case, so upper-case spellings land in the same shard")
    func caseInsensitive() throws {
        let lower = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        #expect(TenantShard.key(ofTenant: lower.uppercased()) == TenantShard.key(ofTenant: lower))
        // Foundation spells UUIDs in upper case; the UUID overload must still hash the lower-case form.
        let uuid = try #require(UUID(uuidString: lower))
        #expect(uuid.uuidString != lower)
        #expect(TenantShard.index(ofTenant: uuid, count: 100) == 47)
    }

    @Test("every tenant is owned by exactly one shard", arguments: [1, 2, 4, 7, 16])
    func exactlyOneOwner(count: Int) throws {
        var generator = SplitMix64(seed: 0xD15C_5EED)
        let shards = try (0..<count).map { try TenantShard(index: $0, count: count) }
        for _ in 0..<2_000 {
            let tenant = generator.nextUUID()
            let owners = shards.filter { $0.owns(tenant) }
            #expect(owners.count == 1, "\(tenant) is owned by \(owners)")
            #expect(owners.first?.index == TenantShard.index(ofTenant: tenant, count: count))
        }
    }

    @Test("10,000 random tenants spread evenly: every shard is within 15% of the mean", arguments: [4, 7])
    func uniform(count: Int) {
        var generator = SplitMix64(seed: 0x5EED_0F_5A4D)
        var sizes = [Int](repeating: 0, count: count)
        let tenants = 10_000
        for _ in 0..<tenants { sizes[TenantShard.index(ofTenant: generator.nextUUID(), count: count)] += 1 }
        let mean = Double(tenants) / Double(count)
        for (index, size) in sizes.enumerated() {
            #expect(abs(Double(size) - mean) <= 0.15 * mean, "shard \(index)/\(count) got \(size) tenants, mean \(mean): \(sizes)")
        }
    }

    @Test("K/N parses when 0 ≤ K < N", arguments: ["0/1", "0/4", "3/4", "6/7", "41/100"])
    func parsesValid(specification: String) throws {
        let shard = try TenantShard(parsing: specification)
        #expect(shard.description == specification)
    }

    @Test("malformed or out-of-range shards are refused with a reason", arguments: [
        ("4/4", "K must be from 0 to 3"),
        ("0/0", "N must be at least 1"),
        ("-1/4", "K is not a whole number"),
        ("+1/4", "K is not a whole number"),
        ("1 /4", "K is not a whole number"),
        ("1/four", "N is not a whole number"),
        ("1", "exactly one '/'"),
        ("1/2/3", "exactly one '/'"),
        ("/4", "K is not a whole number"),
        ("99999999999999999999/4", "K is not a whole number"),
        ("$(JOB_COMPLETION_INDEX)/4", "completionMode: Indexed"),
    ])
    func refusesInvalid(specification: String, reason: String) {
        #expect {
            try TenantShard(parsing: specification)
        } throws: { error in
            let description = (error as? TenantShard.Invalid)?.description ?? ""
            return description.contains(reason) && description.contains("\"\(specification)\"") && description.hasPrefix("--shard must be K/N")
        }
    }

    @Test("the designated initializer refuses K outside 0..<N and N below 1")
    func designatedInitializer() {
        #expect(throws: TenantShard.Invalid.self) { try TenantShard(index: 2, count: 2) }
        #expect(throws: TenantShard.Invalid.self) { try TenantShard(index: -1, count: 2) }
        #expect(throws: TenantShard.Invalid.self) { try TenantShard(index: 0, count: -3) }
    }
}
