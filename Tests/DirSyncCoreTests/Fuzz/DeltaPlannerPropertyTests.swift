import DirSyncCore
import DirSyncTestSupport
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
            let plan = DeltaPlanner.plan(users: objects)
            let expected = Reference.users(objects)
            #expect(plan.users == expected.upserts, "seed \(seed)")
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
            let plan = DeltaPlanner.plan(groups: objects)
            let expected = Reference.groups(objects)
            #expect(plan.groups == expected.upserts, "seed \(50_000 + seed)")
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
            let plan = DeltaPlanner.plan(groups: groups)
            #expect(DeltaPlanner.plan(groups: groups) == plan)
            // The plan's upserts, replanned, are already free of repeats.
            #expect(DeltaPlanner.plan(groups: plan.groups).groups == plan.groups, "seed \(90_000 + seed)")
        }
    }

    private func checkConsistency(_ plan: PagePlan, seed: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let upserted = plan.users.map(\.id) + plan.groups.map(\.id)
        #expect(Set(upserted).count == upserted.count, "seed \(seed): an object is upserted twice", sourceLocation: sourceLocation)
        #expect(Set(plan.removals.map(\.id)).count == plan.removals.count, "seed \(seed): an object is removed twice", sourceLocation: sourceLocation)
        #expect(plan.groups.allSatisfy { $0.memberChanges.isEmpty }, "seed \(seed): membership left inside a group upsert", sourceLocation: sourceLocation)
        let added = plan.membershipAdditions.map { MembershipRemoval(groupID: $0.groupID, memberID: $0.memberID) }
        #expect(Set(added).count == added.count && Set(plan.membershipRemovals).count == plan.membershipRemovals.count,
                "seed \(seed): a membership is changed twice", sourceLocation: sourceLocation)
        #expect(Set(added).isDisjoint(with: plan.membershipRemovals), "seed \(seed): a membership is both added and removed", sourceLocation: sourceLocation)
    }

    static func pick<T>(_ values: [T], _ random: inout SplitMix64) -> T { values[Int.random(in: 0..<values.count, using: &random)] }

    static func patch(_ random: inout SplitMix64) -> Patch<String> {
        pick([.absent, .absent, .null, .value("a"), .value("b"), .value("")], &random)
    }

    static func randomUser(_ random: inout SplitMix64) -> UserChange {
        var user = UserChange(id: pick(ids, &random))
        if Int.random(in: 0..<4, using: &random) == 0 { user.removed = pick(RemovalReason.allCases, &random); return user }
        user.displayName = patch(&random)
        user.mail = patch(&random)
        user.jobTitle = patch(&random)
        user.accountEnabled = pick([.absent, .null, .value(true), .value(false)], &random)
        user.proxyAddresses = pick([.absent, .null, .value([]), .value(["smtp:a@x"])], &random)
        return user
    }

    static func randomGroup(_ random: inout SplitMix64) -> GroupChange {
        var group = GroupChange(id: pick(Array(ids.prefix(3)), &random))
        if Int.random(in: 0..<5, using: &random) == 0 { group.removed = pick(RemovalReason.allCases, &random); return group }
        group.displayName = patch(&random)
        group.description = patch(&random)
        group.securityEnabled = pick([.absent, .value(true), .value(false)], &random)
        group.memberChanges = (0..<Int.random(in: 0...3, using: &random)).map { _ in
            MemberChange(memberID: pick(ids, &random), memberType: pick(MemberType.allCases, &random), removed: Bool.random(using: &random))
        }
        return group
    }
}

/// The planner's contract, written the slow and obvious way: what applying each report in turn does.
enum Reference {
    static func users(_ objects: [UserChange]) -> (upserts: [UserChange], removals: [ObjectRemoval]) {
        var order: [UUID] = []
        var upserts: [UserChange] = [], removals: [ObjectRemoval] = []
        for object in objects where !order.contains(object.id) { order.append(object.id) }
        for id in order {
            let reports = objects.filter { $0.id == id }
            let kept = reports.filter { $0.removed == nil }
            if var merged = kept.first {
                for later in kept.dropFirst() {
                    for key in [\UserChange.userPrincipalName, \.displayName, \.givenName, \.surname, \.mail, \.jobTitle, \.department, \.userType]
                    where later[keyPath: key].isPresent { merged[keyPath: key] = later[keyPath: key] }
                    if later.accountEnabled.isPresent { merged.accountEnabled = later.accountEnabled }
                    if later.proxyAddresses.isPresent { merged.proxyAddresses = later.proxyAddresses }
                }
                upserts.append(merged)
            }
            if let reason = reports.last!.removed { removals.append(ObjectRemoval(id: id, reason: DeletionReason(reason))) }
        }
        return (upserts, removals)
    }

    static func groups(_ objects: [GroupChange])
        -> (upserts: [GroupChange], removals: [ObjectRemoval], additions: Set<MembershipAddition>, memberRemovals: Set<MembershipRemoval>)
    {
        var order: [UUID] = []
        var upserts: [GroupChange] = [], removals: [ObjectRemoval] = []
        var additions = Set<MembershipAddition>(), memberRemovals = Set<MembershipRemoval>()
        for object in objects where !order.contains(object.id) { order.append(object.id) }
        for id in order {
            let reports = objects.filter { $0.id == id }
            let kept = reports.filter { $0.removed == nil }
            if var merged = kept.first {
                merged.memberChanges = []
                for later in kept.dropFirst() {
                    for key in [\GroupChange.displayName, \.description, \.mail, \.mailNickname] where later[keyPath: key].isPresent {
                        merged[keyPath: key] = later[keyPath: key]
                    }
                    for key in [\GroupChange.mailEnabled, \.securityEnabled] where later[keyPath: key].isPresent { merged[keyPath: key] = later[keyPath: key] }
                    if later.groupTypes.isPresent { merged.groupTypes = later.groupTypes }
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
