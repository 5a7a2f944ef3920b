import DirSyncCore
import Foundation
import Testing

@Suite("Delta planner")
struct DeltaPlannerTests {
    let alice = UUID(), bob = UUID(), team = UUID(), other = UUID()

    private func user(_ id: UUID, _ configure: (inout UserChange) -> Void = { _ in }) -> UserChange {
        var change = UserChange(id: id)
        configure(&change)
        return change
    }

    private func group(_ id: UUID, _ configure: (inout GroupChange) -> Void = { _ in }) -> GroupChange {
        var change = GroupChange(id: id)
        configure(&change)
        return change
    }

    @Test("a repeated user merges property by property: later present values win, absent ones keep earlier values")
    func repeatedUserMerges() {
        let plan = DeltaPlanner.plan(users: [
            user(alice) { $0.displayName = .value("Alice"); $0.mail = .value("a@x.example"); $0.jobTitle = .value("Eng") },
            user(bob) { $0.displayName = .value("Bob") },
            user(alice) { $0.displayName = .value("Alice B"); $0.jobTitle = .null },
        ])
        #expect(plan.users.map(\.id) == [alice, bob])
        #expect(plan.users[0].displayName == .value("Alice B"))
        #expect(plan.users[0].mail == .value("a@x.example"))
        #expect(plan.users[0].jobTitle == .null)
        #expect(plan.users[0].surname == .absent)
        #expect(plan.removals.isEmpty)
    }

    @Test("@removed after an upsert keeps what was reported and stages the removal with its reason, as two pages would")
    func removalAfterUpsert() {
        let plan = DeltaPlanner.plan(users: [user(alice) { $0.displayName = .value("A") }, user(alice) { $0.removed = .changed }])
        #expect(plan.users.map(\.id) == [alice] && plan.users[0].displayName == .value("A"))
        #expect(plan.removals == [ObjectRemoval(id: alice, reason: .softDeleted)])
        #expect(plan.objectCount == 1)
    }

    @Test("an object reported after its @removed was restored: the removal is cancelled")
    func restoreAfterRemoval() {
        let plan = DeltaPlanner.plan(users: [
            user(alice) { $0.removed = .deleted },
            user(alice) { $0.displayName = .value("Alice"); $0.mail = .null },
        ])
        #expect(plan.removals.isEmpty)
        #expect(plan.users.count == 1)
        #expect(plan.users[0].displayName == .value("Alice"))
        #expect(plan.users[0].mail == .null)
    }

    @Test("a restore merges with what was reported before the removal, as it would over three pages")
    func restoreMergesEarlierReports() {
        let plan = DeltaPlanner.plan(users: [
            user(alice) { $0.displayName = .value("Alice"); $0.jobTitle = .null },
            user(alice) { $0.removed = .changed },
            user(alice) { $0.mail = .value("a@contoso.example") },
        ])
        #expect(plan.removals.isEmpty)
        #expect(plan.users.count == 1)
        #expect(plan.users[0].displayName == .value("Alice") && plan.users[0].jobTitle == .null && plan.users[0].mail == .value("a@contoso.example"))
    }

    @Test("a repeat adds nothing only when every property it carries was reported before with the same value")
    func addsNothing() {
        let earlier = user(alice) { $0.displayName = .value("Alice"); $0.jobTitle = .null }
        #expect(user(alice).addsNothing(to: earlier))
        #expect(user(alice) { $0.displayName = .value("Alice") }.addsNothing(to: earlier))
        #expect(user(alice) { $0.jobTitle = .null }.addsNothing(to: earlier))
        #expect(!user(alice) { $0.displayName = .value("Alice B") }.addsNothing(to: earlier))
        #expect(!user(alice) { $0.mail = .null }.addsNothing(to: earlier))
        #expect(!user(alice) { $0.removed = .changed }.addsNothing(to: earlier))
        let team = group(team) { $0.displayName = .value("T") }
        #expect(group(self.team) { $0.memberChanges = [MemberChange(memberID: bob, memberType: .user, removed: false)] }.addsNothing(to: team))
        #expect(!group(self.team) { $0.groupTypes = .value(["Unified"]) }.addsNothing(to: team))
    }

    @Test("Graph's removal reasons map to stored deletion reasons")
    func reasonsMap() {
        #expect(DeletionReason(RemovalReason.changed) == .softDeleted)
        #expect(DeletionReason(RemovalReason.deleted) == .hardDeleted)
    }

    @Test("members@delta entries become additions and removals; the last entry per member wins")
    func membershipChanges() {
        let plan = DeltaPlanner.plan(groups: [
            group(team) {
                $0.displayName = .value("Team")
                $0.memberChanges = [
                    MemberChange(memberID: alice, memberType: .user, removed: false),
                    MemberChange(memberID: bob, memberType: .user, removed: true),
                    MemberChange(memberID: other, memberType: .device, removed: false),
                ]
            },
            group(team) { $0.memberChanges = [MemberChange(memberID: other, memberType: .device, removed: true)] },
        ])
        #expect(plan.groups.count == 1)
        #expect(plan.groups[0].displayName == .value("Team"))
        #expect(plan.groups[0].memberChanges.isEmpty)
        #expect(plan.membershipAdditions == [MembershipAddition(groupID: team, memberID: alice, memberType: .user)])
        #expect(Set(plan.membershipRemovals) == [MembershipRemoval(groupID: team, memberID: bob), MembershipRemoval(groupID: team, memberID: other)])
    }

    @Test("a group repeated on one page with different member slices keeps every slice")
    func splitGroupSlicesAccumulate() {
        let members = (0..<10).map { _ in UUID() }
        let plan = DeltaPlanner.plan(groups: [
            group(team) { g in g.displayName = .value("Big"); g.memberChanges = members[0..<5].map { MemberChange(memberID: $0, memberType: .user, removed: false) } },
            group(team) { g in g.displayName = .value("Big"); g.memberChanges = members[5...].map { MemberChange(memberID: $0, memberType: .group, removed: false) } },
        ])
        #expect(plan.groups.count == 1)
        #expect(plan.membershipAdditions.count == 10)
        #expect(plan.membershipAdditions.filter { $0.memberType == .group }.map(\.memberID) == Array(members[5...]))
    }

    @Test("membership changes of a group removed on the same page are kept: the deletion removes them at the round's end, a later restore keeps them")
    func removedGroupKeepsMembershipChanges() {
        let plan = DeltaPlanner.plan(groups: [
            group(team) { $0.memberChanges = [MemberChange(memberID: alice, memberType: .user, removed: false)] },
            group(team) { $0.removed = .deleted },
        ])
        #expect(plan.groups.map(\.id) == [team])
        #expect(plan.removals == [ObjectRemoval(id: team, reason: .hardDeleted)])
        #expect(plan.membershipAdditions == [MembershipAddition(groupID: team, memberID: alice, memberType: .user)])
        #expect(plan.membershipRemovals.isEmpty)
    }
}
