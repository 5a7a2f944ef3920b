import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

@Suite("Delta planner")
struct DeltaPlannerTests {
    let alice = UUID(), bob = UUID(), team = UUID(), other = UUID()

    private func user(_ id: UUID, _ configure: (inout ObjectChange) -> Void = { _ in }) -> ObjectChange {
        var change = ObjectChange.user( id)
        configure(&change)
        return change
    }

    private func group(_ id: UUID, _ configure: (inout ObjectChange) -> Void = { _ in }) -> ObjectChange {
        var change = ObjectChange.group( id)
        configure(&change)
        return change
    }

    @Test("a repeated user merges property by property: later present values win, absent ones keep earlier values")
    func repeatedUserMerges() {
        let plan = DeltaPlanner.plan(.users, objects: [
            user(alice) { $0.user.displayName = .value("Alice"); $0.user.mail = .value("a@x.example"); $0.user.jobTitle = .value("Eng") },
            user(bob) { $0.user.displayName = .value("Bob") },
            user(alice) { $0.user.displayName = .value("Alice B"); $0.user.jobTitle = .null },
        ])
        #expect(plan.objects.map(\.id) == [alice, bob])
        #expect(plan.objects[0].user.displayName == .value("Alice B"))
        #expect(plan.objects[0].user.mail == .value("a@x.example"))
        #expect(plan.objects[0].user.jobTitle == .null)
        #expect(plan.objects[0].user.surname == .absent)
        #expect(plan.removals.isEmpty)
    }

    @Test("@removed after an upsert keeps what was reported and stages the removal with its reason, as two pages would")
    func removalAfterUpsert() {
        let plan = DeltaPlanner.plan(.users, objects: [user(alice) { $0.user.displayName = .value("A") }, user(alice) { $0.removed = .changed }])
        #expect(plan.objects.map(\.id) == [alice] && plan.objects[0].user.displayName == .value("A"))
        #expect(plan.removals == [ObjectRemoval(id: alice, reason: .softDeleted)])
        #expect(plan.objectCount == 1)
    }

    @Test("an object reported after its @removed was restored: the removal is cancelled")
    func restoreAfterRemoval() {
        let plan = DeltaPlanner.plan(.users, objects: [
            user(alice) { $0.removed = .deleted },
            user(alice) { $0.user.displayName = .value("Alice"); $0.user.mail = .null },
        ])
        #expect(plan.removals.isEmpty)
        #expect(plan.objects.count == 1)
        #expect(plan.objects[0].user.displayName == .value("Alice"))
        #expect(plan.objects[0].user.mail == .null)
    }

    @Test("a restore merges with what was reported before the removal, as it would over three pages")
    func restoreMergesEarlierReports() {
        let plan = DeltaPlanner.plan(.users, objects: [
            user(alice) { $0.user.displayName = .value("Alice"); $0.user.jobTitle = .null },
            user(alice) { $0.removed = .changed },
            user(alice) { $0.user.mail = .value("a@contoso.example") },
        ])
        #expect(plan.removals.isEmpty)
        #expect(plan.objects.count == 1)
        #expect(plan.objects[0].user.displayName == .value("Alice") && plan.objects[0].user.jobTitle == .null && plan.objects[0].user.mail == .value("a@contoso.example"))
    }

    @Test("a repeat adds nothing only when every property it carries was reported before with the same value")
    func addsNothing() {
        let earlier = user(alice) { $0.user.displayName = .value("Alice"); $0.user.jobTitle = .null }
        #expect(user(alice).addsNothing(to: earlier))
        #expect(user(alice) { $0.user.displayName = .value("Alice") }.addsNothing(to: earlier))
        #expect(user(alice) { $0.user.jobTitle = .null }.addsNothing(to: earlier))
        #expect(!user(alice) { $0.user.displayName = .value("Alice B") }.addsNothing(to: earlier))
        #expect(!user(alice) { $0.user.mail = .null }.addsNothing(to: earlier))
        #expect(!user(alice) { $0.removed = .changed }.addsNothing(to: earlier))
        let team = group(team) { $0.group.displayName = .value("T") }
        #expect(group(self.team) { $0.memberChanges = [MemberChange(memberID: bob, memberType: .user, removed: false)] }.addsNothing(to: team))
        #expect(!group(self.team) { $0.group.groupTypes = .value(["Unified"]) }.addsNothing(to: team))
    }

    @Test("Graph's removal reasons map to stored deletion reasons")
    func reasonsMap() {
        #expect(DeletionReason(RemovalReason.changed) == .softDeleted)
        #expect(DeletionReason(RemovalReason.deleted) == .hardDeleted)
    }

    @Test("members@delta entries become additions and removals; the last entry per member wins")
    func membershipChanges() {
        let plan = DeltaPlanner.plan(.groups, objects: [
            group(team) {
                $0.group.displayName = .value("Team")
                $0.memberChanges = [
                    MemberChange(memberID: alice, memberType: .user, removed: false),
                    MemberChange(memberID: bob, memberType: .user, removed: true),
                    MemberChange(memberID: other, memberType: .device, removed: false),
                ]
            },
            group(team) { $0.memberChanges = [MemberChange(memberID: other, memberType: .device, removed: true)] },
        ])
        #expect(plan.objects.count == 1)
        #expect(plan.objects[0].group.displayName == .value("Team"))
        #expect(plan.objects[0].memberChanges.isEmpty)
        #expect(plan.membershipAdditions == [MembershipAddition(groupID: team, memberID: alice, memberType: .user)])
        #expect(Set(plan.membershipRemovals) == [MembershipRemoval(groupID: team, memberID: bob), MembershipRemoval(groupID: team, memberID: other)])
    }

    @Test("a group repeated on one page with different member slices keeps every slice")
    func splitGroupSlicesAccumulate() {
        let members = (0..<10).map { _ in UUID() }
        let plan = DeltaPlanner.plan(.groups, objects: [
            group(team) { g in g.group.displayName = .value("Big"); g.memberChanges = members[0..<5].map { MemberChange(memberID: $0, memberType: .user, removed: false) } },
            group(team) { g in g.group.displayName = .value("Big"); g.memberChanges = members[5...].map { MemberChange(memberID: $0, memberType: .group, removed: false) } },
        ])
        #expect(plan.objects.count == 1)
        #expect(plan.membershipAdditions.count == 10)
        #expect(plan.membershipAdditions.filter { $0.memberType == .group }.map(\.memberID) == Array(members[5...]))
    }

    @Test("membership changes of a group removed on the same page are kept: the deletion removes them at the round's end, a later restore keeps them")
    func removedGroupKeepsMembershipChanges() {
        let plan = DeltaPlanner.plan(.groups, objects: [
            group(team) { $0.memberChanges = [MemberChange(memberID: alice, memberType: .user, removed: false)] },
            group(team) { $0.removed = .deleted },
        ])
        #expect(plan.objects.map(\.id) == [team])
        #expect(plan.removals == [ObjectRemoval(id: team, reason: .hardDeleted)])
        #expect(plan.membershipAdditions == [MembershipAddition(groupID: team, memberID: alice, memberType: .user)])
        #expect(plan.membershipRemovals.isEmpty)
    }
}
