import DirSyncCore
import DirSyncTestDoubles

import Foundation
import Testing

/// Seeded property tests of ``DeltaPlanner``: random pages with repeated objects, removals, restores and
/// membership churn are planned exactly as a straightforward reference model says, and every plan is
/// internally consistent (nothing planned twice).
@Suite("Delta planner against a reference model (seeded)")
struct DeltaPlannerPropertyTests {
    static let ids = (0..<5).map { UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", $0))! }

    @Test("random user pages: at most one upsert and one removal per id, properties merged over every report, removed when the last report is")
    func usersMatchReferenceModel() async {
        for seed in 0..<2000 {
            if seed % 50 == 0 { await Task.yield() }
            var random = SplitMix64(seed: UInt64(seed))
            let objects = (0..<Int.random(in: 0...14, using: &random)).map { _ in Self.randomUser(&random) }
            let plan = DeltaPlanner.plan(.users, objects: objects)
            let expected = Reference.users(objects)
            #expect(plan.objects == expected.upserts, "seed \(seed)")
            #expect(plan.removals == expected.removals, "seed \(seed)")
            #expect(plan.membershipAdditions.isEmpty && plan.membershipRemovals.isEmpty)
            checkConsistency(plan, seed: seed)
        }
    }

    @Test("random group pages: properties merge over every report and members@delta follow each member's last entry")
    func groupsMatchReferenceModel() async {
        for seed in 0..<2000 {
            if seed % 50 == 0 { await Task.yield() }
            var random = SplitMix64(seed: UInt64(50_000 + seed))
            let objects = (0..<Int.random(in: 0...14, using: &random)).map { _ in Self.randomGroup(&random) }
            let plan = DeltaPlanner.plan(.groups, objects: objects)
            let expected = Reference.groups(objects)
            #expect(plan.objects == expected.upserts, "seed \(50_000 + seed)")
            #expect(plan.removals == expected.removals, "seed \(50_000 + seed)")
            #expect(Set(plan.membershipAdditions) == expected.additions, "seed \(50_000 + seed)")
            #expect(Set(plan.membershipRemovals) == expected.memberRemovals, "seed \(50_000 + seed)")
            checkConsistency(plan, seed: 50_000 + seed)
        }
    }

    @Test("planning a page twice gives the same plan, and planning its own output again changes nothing")
    func planningIsDeterministicAndIdempotent() async {
        for seed in 0..<500 {
            if seed % 50 == 0 { await Task.yield() }
            var random = SplitMix64(seed: UInt64(90_000 + seed))
            let groups = (0..<Int.random(in: 0...14, using: &random)).map { _ in Self.randomGroup(&random) }
            let plan = DeltaPlanner.plan(.groups, objects: groups)
            #expect(DeltaPlanner.plan(.groups, objects: groups) == plan)
            // The plan's upserts, replanned, are already free of repeats.
            #expect(DeltaPlanner.plan(.groups, objects: plan.objects).objects == plan.objects, "seed \(90_000 + seed)")
        }
    }

    private func checkConsistency(_ plan: PagePlan, seed: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let upserted = plan.objects.map(\.id)
        #expect(Set(upserted).count == upserted.count, "seed \(seed): an object is upserted twice", sourceLocation: sourceLocation)
        #expect(Set(plan.removals.map(\.id)).count == plan.removals.count, "seed \(seed): an object is removed twice", sourceLocation: sourceLocation)
        #expect(plan.objects.allSatisfy { $0.memberChanges.isEmpty }, "seed \(seed): membership left inside a group upsert", sourceLocation: sourceLocation)
        let added = plan.membershipAdditions.map { MembershipRemoval(groupID: $0.groupID, memberID: $0.memberID) }
        #expect(Set(added).count == added.count && Set(plan.membershipRemovals).count == plan.membershipRemovals.count,
                "seed \(seed): a membership is changed twice", sourceLocation: sourceLocation)
        #expect(Set(added).isDisjoint(with: plan.membershipRemovals), "seed \(seed): a membership is both added and removed", sourceLocation: sourceLocation)
    }

    static func pick<T>(_ values: [T], _ random: inout SplitMix64) -> T { values[Int.random(in: 0..<values.count, using: &random)] }

    static func patch(_ random: inout SplitMix64) -> Patch<FieldValue> {
        pick([.absent, .absent, .null, .value("a"), .value("b"), .value("")], &random)
    }

    static func randomUser(_ random: inout SplitMix64) -> ObjectChange {
        var user = ObjectChange.user( pick(ids, &random))
        if Int.random(in: 0..<4, using: &random) == 0 { user.removed = pick(RemovalReason.allCases, &random); return user }
        user.user.displayName = patch(&random)
        user.user.mail = patch(&random)
        user.user.jobTitle = patch(&random)
        user.user.accountEnabled = pick([.absent, .null, .value(true), .value(false)], &random)
        user.user.proxyAddresses = pick([.absent, .null, .value([]), .value(["smtp:a@x"])], &random)
        return user
    }

    static func randomGroup(_ random: inout SplitMix64) -> ObjectChange {
        var group = ObjectChange.group( pick(Array(ids.prefix(3)), &random))
        if Int.random(in: 0..<5, using: &random) == 0 { group.removed = pick(RemovalReason.allCases, &random); return group }
        group.group.displayName = patch(&random)
        group.group.description = patch(&random)
        group.group.securityEnabled = pick([.absent, .value(true), .value(false)], &random)
        group.memberChanges = (0..<Int.random(in: 0...3, using: &random)).map { _ in
            MemberChange(memberID: pick(ids, &random), memberType: pick(MemberType.allCases, &random), removed: Bool.random(using: &random))
        }
        return group
    }
}

/// The planner's contract, written the slow and obvious way: what applying each report in turn does.
enum Reference {
    static func users(_ objects: [ObjectChange]) -> (upserts: [ObjectChange], removals: [ObjectRemoval]) {
        let result = plan(objects)
        return (result.upserts, result.removals)
    }

    static func groups(_ objects: [ObjectChange])
        -> (upserts: [ObjectChange], removals: [ObjectRemoval], additions: Set<MembershipAddition>, memberRemovals: Set<MembershipRemoval>)
    {
        plan(objects)
    }

    private static func plan(_ objects: [ObjectChange])
        -> (upserts: [ObjectChange], removals: [ObjectRemoval], additions: Set<MembershipAddition>, memberRemovals: Set<MembershipRemoval>)
    {
        var order: [UUID] = []
        var upserts: [ObjectChange] = [], removals: [ObjectRemoval] = []
        var additions = Set<MembershipAddition>(), memberRemovals = Set<MembershipRemoval>()
        for object in objects where !order.contains(object.id) { order.append(object.id) }
        for id in order {
            let reports = objects.filter { $0.id == id }
            let kept = reports.filter { $0.removed == nil }
            if var merged = kept.first {
                merged.memberChanges = []
                for later in kept.dropFirst() {
                    for field in later.values.indices where later.values[field].isPresent { merged.values[field] = later.values[field] }
                }
                upserts.append(merged)
            }
            if let reason = reports.last!.removed { removals.append(ObjectRemoval(id: id, reason: DeletionReason(reason))) }
            // Membership: the last entry for each member, over every report of the group on the page.
            var last: [UUID: MemberChange] = [:]
            for report in reports { for change in report.memberChanges { last[change.memberID] = change } }
            for (member, change) in last {
                if change.removed { memberRemovals.insert(MembershipRemoval(groupID: id, memberID: member)) }
                else { additions.insert(MembershipAddition(groupID: id, memberID: member, memberType: change.memberType)) }
            }
        }
        return (upserts, removals, additions, memberRemovals)
    }
}
