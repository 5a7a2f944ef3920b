import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

@Suite("Write path policy: COPY new rows, merge repeats, skip what adds nothing")
struct WritePathPolicyTests {
    static let ids = (0..<6).map { UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", $0))! }

    static func user(_ index: Int, _ name: String? = nil, title: Patch<FieldValue> = .absent) -> ObjectChange {
        .user(ids[index]) {
            if let name { $0.user.displayName = .value(.text(name)) }
            $0.user.jobTitle = title
        }
    }

    @Test("only a full round over a table without rows of the tenant COPYs; memberships only for a resource that reads them", arguments: [
        (RoundMode.full, false, false, true, true, true),
        (.full, true, false, true, false, true),
        (.full, false, true, true, true, false),
        (.full, false, false, false, true, false),
        (.incremental, false, false, true, false, false),
    ])
    func start(mode: RoundMode, objectsExist: Bool, membershipsExist: Bool, readsMemberships: Bool, copiesObjects: Bool, copiesMemberships: Bool) {
        let policy = WritePathPolicy(mode: mode, objectsExist: objectsExist, membershipsExist: membershipsExist, readsMemberships: readsMemberships)
        #expect(policy.copiesObjects == copiesObjects && policy.copiesMemberships == copiesMemberships)
    }

    @Test("new objects are COPYed; one the previous transaction wrote is merged, or needs nothing when it adds nothing")
    func routing() {
        var policy = WritePathPolicy(mode: .full, objectsExist: false, membershipsExist: false, readsMemberships: false)
        let first = [Self.user(0, "a"), Self.user(1, "b")]
        #expect(policy.route(first) == .init(copy: [0, 1], merge: []))
        policy.wrote(first, copied: true)
        // a again with a change, b again with nothing new, c new.
        let second = [Self.user(0, "a", title: .null), Self.user(1, "b"), Self.user(2, "c")]
        #expect(policy.route(second) == .init(copy: [2], merge: [0]))
        policy.wrote(second, copied: true)
        // What the rows now hold is remembered across transactions: a's title is known to be null.
        #expect(policy.route([Self.user(0, title: .null), Self.user(1)]) == .init(copy: [], merge: []))
    }

    @Test("three COPY misses in a row end the fast path; a hit in between resets the count")
    func misses() {
        var policy = WritePathPolicy(mode: .full, objectsExist: false, membershipsExist: false, readsMemberships: true)
        for _ in 0..<2 { policy.wrote([Self.user(3, "x")], copied: false) }
        policy.wrote([Self.user(4, "y")], copied: true)
        for _ in 0..<2 { policy.wrote([Self.user(5, "z")], copied: false) }
        #expect(policy.copiesObjects)
        policy.wrote([Self.user(5, "z")], copied: false)
        #expect(!policy.copiesObjects)
        #expect(policy.route([Self.user(0, "a")]) == .init(copy: [], merge: [0]))
        for _ in 0..<WritePathPolicy.maxMisses { policy.wroteMemberships(copied: false) }
        #expect(!policy.copiesMemberships)
    }

    @Test("once a deletion is staged every object is merged, so a later report of it can un-stage it")
    func deletionsStaged() {
        var policy = WritePathPolicy(mode: .full, objectsExist: false, membershipsExist: false, readsMemberships: false)
        policy.stagedDeletions()
        #expect(policy.route([Self.user(0, "a"), Self.user(1, "b")]) == .init(copy: [], merge: [0, 1]))
    }

    @Test("a rolled-back transaction ends the fast path and forgets what the rows held")
    func rollback() {
        var policy = WritePathPolicy(mode: .full, objectsExist: false, membershipsExist: false, readsMemberships: true)
        policy.wrote([Self.user(0, "a")], copied: true)
        policy.rolledBack()
        #expect(!policy.copiesObjects && !policy.copiesMemberships)
        #expect(policy.route([Self.user(0, "a")]) == .init(copy: [], merge: [0]))
    }
}
