import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

/// Writing several pages in one transaction relies on one property: planning consecutive pages
/// together leaves the tables exactly as applying each page's plan in turn, once the round completes.
/// Checked here against a model of the store's write rules, over seeded random rounds that repeat,
/// remove, restore and re-add objects and memberships across page boundaries.
@Suite("Planning several pages as one")
struct BatchPlanningTests {
    @Test("user rounds: any grouping of pages into transactions ends in the same rows as one page per transaction")
    func userRoundsAnyGrouping() async {
        for seed in 0..<1_500 {
            if seed % 50 == 0 { await Task.yield() }
            var random = SplitMix64(seed: UInt64(120_000 + seed))
            let pages = (0..<Int.random(in: 1...6, using: &random)).map { _ in
                (0..<Int.random(in: 0...6, using: &random)).map { _ in DeltaPlannerPropertyTests.randomUser(&random) }
            }
            let start = StoreModel.random(.users, &random)
            let perPage = StoreModel.applying(pages.map { DeltaPlanner.plan(.users, pages: [Self.page(.users, $0)]) }, to: start)
            let batched = StoreModel.applying(Self.group(pages, &random).map { DeltaPlanner.plan(.users, pages: $0.map { Self.page(.users, $0) }) }, to: start)
            #expect(batched == perPage, "seed \(120_000 + seed)")
        }
    }

    @Test("group rounds: a group split over pages, removed and restored across them, ends with the same members either way")
    func groupRoundsAnyGrouping() async {
        for seed in 0..<1_500 {
            if seed % 50 == 0 { await Task.yield() }
            var random = SplitMix64(seed: UInt64(140_000 + seed))
            let pages = (0..<Int.random(in: 1...6, using: &random)).map { _ in
                (0..<Int.random(in: 0...6, using: &random)).map { _ in DeltaPlannerPropertyTests.randomGroup(&random) }
            }
            let start = StoreModel.random(.groups, &random)
            let perPage = StoreModel.applying(pages.map { DeltaPlanner.plan(.groups, pages: [Self.page(.groups, $0)]) }, to: start)
            let batched = StoreModel.applying(Self.group(pages, &random).map { DeltaPlanner.plan(.groups, pages: $0.map { Self.page(.groups, $0) }) }, to: start)
            #expect(batched == perPage, "seed \(140_000 + seed)")
        }
    }

    @Test("planning one page through the batch entry point is the single-page plan")
    func singlePageUnchanged() {
        var random = SplitMix64(seed: 7)
        let users = (0..<10).map { _ in DeltaPlannerPropertyTests.randomUser(&random) }
        let groups = (0..<10).map { _ in DeltaPlannerPropertyTests.randomGroup(&random) }
        #expect(DeltaPlanner.plan(.users, pages: [Self.page(.users, users)]) == DeltaPlanner.plan(.users, objects: users))
        #expect(DeltaPlanner.plan(.groups, pages: [Self.page(.groups, groups)]) == DeltaPlanner.plan(.groups, objects: groups))
        #expect(DeltaPlanner.plan(.users, pages: []).isEmpty)
    }

    static func page(_ resource: DirectoryResource, _ objects: [ObjectChange]) -> DeltaPage {
        DeltaPage(resource: resource, objects: objects, continuation: .next("https://graph.example/next"))
    }

    /// Splits `pages` into random runs of consecutive pages.
    static func group<T>(_ pages: [T], _ random: inout SplitMix64) -> [[T]] {
        var groups: [[T]] = []
        var index = 0
        while index < pages.count {
            let size = Int.random(in: 1...(pages.count - index), using: &random)
            groups.append(Array(pages[index..<(index + size)]))
            index += size
        }
        return groups
    }
}

/// The store's write rules (PostgresRoundStore), written the slow and obvious way: an upsert merges
/// present properties and restores; a removal is staged until the round completes and an upsert
/// un-stages it; membership removals then additions; at the end staged objects are marked deleted and
/// a deleted group loses its memberships.
struct StoreModel: Equatable {
    struct Row: Equatable {
        var properties: [String: String] = [:]
        var deleted: DeletionReason?
    }

    var resource: DirectoryResource
    var rows: [UUID: Row] = [:]
    var staged: [UUID: DeletionReason] = [:]
    var members: [MembershipRemoval: MemberType] = [:]

    static func random(_ resource: DirectoryResource, _ random: inout SplitMix64) -> StoreModel {
        var model = StoreModel(resource: resource)
        for id in DeltaPlannerPropertyTests.ids where Bool.random(using: &random) {
            model.rows[id] = Row(properties: ["displayName": "old"], deleted: Int.random(in: 0..<4, using: &random) == 0 ? .softDeleted : nil)
        }
        for group in DeltaPlannerPropertyTests.ids.prefix(3) where model.rows[group] != nil {
            for member in DeltaPlannerPropertyTests.ids where Bool.random(using: &random) {
                model.members[MembershipRemoval(groupID: group, memberID: member)] = .user
            }
        }
        return model
    }

    /// The tables after writing `plans` in order and completing the round.
    static func applying(_ plans: [PagePlan], to start: StoreModel) -> StoreModel {
        var model = start
        for plan in plans { model.write(plan) }
        model.complete()
        return model
    }

    mutating func write(_ plan: PagePlan) {
        let table = DirectorySchema.standard[resource]
        for object in plan.objects {
            var properties: [String: String?] = [:]
            for (index, field) in table.fields.enumerated() { properties[field.graphName] = object.values[index].text }
            upsert(object.id, properties)
        }
        for removal in plan.removals { staged[removal.id] = removal.reason }
        for removal in plan.membershipRemovals { members[removal] = nil }
        for addition in plan.membershipAdditions {
            members[MembershipRemoval(groupID: addition.groupID, memberID: addition.memberID)] = addition.memberType
        }
    }

    private mutating func upsert(_ id: UUID, _ properties: [String: String?]) {
        var row = rows[id] ?? Row()
        for (key, value) in properties { if let value { row.properties[key] = value } }
        row.deleted = nil
        rows[id] = row
        staged[id] = nil
    }

    mutating func complete() {
        for (id, reason) in staged {
            if rows[id] != nil { rows[id]!.deleted = reason }
            if resource == .groups { members = members.filter { $0.key.groupID != id } }
        }
        staged = [:]
    }
}

extension Patch {
    /// The value as the model stores it; `nil` when absent (the column is left alone).
    fileprivate var text: String? {
        switch self {
        case .absent: nil
        case .null: "NULL"
        case .value(let value): "\(value)"
        }
    }
}
