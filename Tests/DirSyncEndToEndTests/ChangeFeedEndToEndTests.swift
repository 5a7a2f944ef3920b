import DirSyncTestDoubles
import DirSyncTestSupport
import Foundation
import PostgresStore
import Synchronization
import Testing

/// A downstream consumer's copy of the contract tables, kept current only by applying change events.
struct FeedReplica: Equatable {
    /// An object's contract columns (non-null values as canonical JSON text) and its deletion.
    struct Object: Equatable {
        var deletedReason: String?
        var columns: [String: String]
    }

    /// "entity tenant id" → object.
    var objects: [String: Object] = [:]
    /// "tenant group member" → member type.
    var memberships: [String: String] = [:]

    static let entities = [("user", "users"), ("group", "groups"), ("contact", "contacts")]
    /// Columns that are not part of what events report: keys, deletion (reported by op), bookkeeping.
    static let notReported = "ARRAY['tenant_id', 'id', 'deleted_at', 'deleted_reason', 'updated_at', 'sync_round']"

    /// Reads the tables as they are in `connection`'s snapshot: all tenants, or one tenant's `entity`.
    static func read(_ connection: PostgresConnection, tenant: UUID? = nil, entity: String? = nil) async throws -> FeedReplica {
        var replica = FeedReplica()
        for (name, table) in entities where entity == nil || entity == name {
            let rows = try await connection.query("""
                SELECT t.tenant_id, t.id, t.deleted_reason,
                       ARRAY(SELECT e.key FROM jsonb_each(to_jsonb(t) - \(unescaped: notReported)) e WHERE e.value <> 'null' ORDER BY e.key) AS keys,
                       ARRAY(SELECT e.value::text FROM jsonb_each(to_jsonb(t) - \(unescaped: notReported)) e WHERE e.value <> 'null' ORDER BY e.key) AS vals,
                       t.deleted_at IS NOT NULL AS deleted
                FROM directory.\(unescaped: table) t WHERE \(tenant)::uuid IS NULL OR t.tenant_id = \(tenant)
                """)
            for row in rows {
                let reason = try row.bool("deleted") ? (try row.optionalString("deleted_reason") ?? "") : nil
                replica.objects["\(name) \(try row.uuid("tenant_id")) \(try row.uuid("id"))"] =
                    Object(deletedReason: reason, columns: Dictionary(uniqueKeysWithValues: zip(try row.stringArray("keys"), try row.stringArray("vals"))))
            }
        }
        if entity == nil || entity == "membership" {
            for row in try await connection.query("""
                SELECT tenant_id, group_id, member_id, member_type FROM directory.group_members WHERE \(tenant)::uuid IS NULL OR tenant_id = \(tenant)
                """) {
                replica.memberships["\(try row.uuid("tenant_id")) \(try row.uuid("group_id")) \(try row.uuid("member_id"))"] = try row.string("member_type")
            }
        }
        return replica
    }

    /// One event as `changes_since` returns it, with `changes` split into keys and JSON texts.
    struct Event: Hashable {
        var seq: Int64, tenant: UUID, entity: String, op: String
        var object: UUID?, group: UUID?, memberType: String?
        var changes: [String: String]
    }

    static func events(after cursor: Int64, limit: Int, _ connection: PostgresConnection) async throws -> [Event] {
        try await connection.query("""
            SELECT c.seq, c.tenant_id, c.entity, c.op, c.object_id, c.group_id, c.member_type,
                   ARRAY(SELECT e.key FROM jsonb_each(c.changes) e ORDER BY e.key) AS keys,
                   ARRAY(SELECT e.value::text FROM jsonb_each(c.changes) e ORDER BY e.key) AS vals
            FROM directory.changes_since(\(cursor), \(limit)) c
            """).map { row in
            Event(seq: Int64(try row.int("seq")), tenant: try row.uuid("tenant_id"), entity: try row.string("entity"), op: try row.string("op"),
                  object: try row.optionalUUID("object_id"), group: try row.optionalUUID("group_id"), memberType: try row.optionalString("member_type"),
                  changes: Dictionary(uniqueKeysWithValues: zip(try row.stringArray("keys"), try row.stringArray("vals"))))
        }
    }

    /// Applies one event the way the README tells consumers to; a snapshot re-reads that tenant's rows.
    mutating func apply(_ event: Event, _ connection: PostgresConnection) async throws {
        if event.op == "snapshot" {
            let prefix = event.entity == "membership" ? "\(event.tenant) " : "\(event.entity) \(event.tenant) "
            if event.entity == "membership" {
                memberships = memberships.filter { !$0.key.hasPrefix(prefix) }
            } else {
                objects = objects.filter { !$0.key.hasPrefix(prefix) }
            }
            let fresh = try await Self.read(connection, tenant: event.tenant, entity: event.entity)
            objects.merge(fresh.objects) { $1 }
            memberships.merge(fresh.memberships) { $1 }
            return
        }
        guard let object = event.object else { return }
        if event.entity == "membership", let group = event.group {
            let key = "\(event.tenant) \(group) \(object)"
            memberships[key] = event.op == "added" ? event.memberType : nil
            return
        }
        let key = "\(event.entity) \(event.tenant) \(object)"
        switch event.op {
        case "created":
            objects[key] = Object(deletedReason: nil, columns: event.changes.filter { $0.value != "null" })
        case "updated", "restored":
            var stored = objects[key] ?? Object(deletedReason: nil, columns: [:])
            stored.deletedReason = nil
            for (column, value) in event.changes { stored.columns[column] = value == "null" ? nil : value }
            objects[key] = stored
        case "deleted":
            var stored = objects[key] ?? Object(deletedReason: nil, columns: [:])
            let reason = event.changes["deleted_reason"] ?? "null"
            stored.deletedReason = reason == "null" ? "" : String(reason.dropFirst().dropLast())
            objects[key] = stored
        default:
            Issue.record("unknown op \(event.op) in event \(event.seq)")
        }
    }

    /// Where the copy differs from `other`, at most `limit` lines.
    func differences(from other: FeedReplica, limit: Int = 8) -> [String] {
        var lines: [String] = []
        for key in Set(objects.keys).union(other.objects.keys).sorted() where objects[key] != other.objects[key] {
            lines.append("\(key): copy \(objects[key].map { "\($0)" } ?? "absent"), tables \(other.objects[key].map { "\($0)" } ?? "absent")")
            if lines.count >= limit { return lines }
        }
        for key in Set(memberships.keys).union(other.memberships.keys).sorted() where memberships[key] != other.memberships[key] {
            lines.append("membership \(key): copy \(memberships[key] ?? "absent"), tables \(other.memberships[key] ?? "absent")")
            if lines.count >= limit { return lines }
        }
        return lines
    }
}

/// The change feed through the built binary, graph-sim and a real PostgreSQL: a consumer that only
/// applies events keeps an exact copy while tenants sync concurrently, are resynced, and are killed.
@Suite("change feed end to end: a consumer's copy stays exact", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ChangeFeedEndToEndTests {
    static let simulator = ["--tenants", "5", "--users", "150", "--groups", "24", "--members-per-group", "10", "--nesting", "deep",
                            "--seed", "151", "--page-size", "40"]

    /// Tells the consumer the runs are over.
    final class StopSignal: Sendable {
        private let flag = Atomic<Bool>(false)
        func set() { flag.store(true, ordering: .releasing) }
        var isSet: Bool { flag.load(ordering: .acquiring) }
    }

    /// What a consumer saw: its copy and every seq it applied, in order.
    struct Consumed {
        var replica: FeedReplica
        var cursor: Int64
        var seen: [Int64] = []
        var duplicates: [Int64] = []
        var outOfOrder: [Int64] = []
    }

    /// Polls `changes_since` (woken by NOTIFY, else every few milliseconds) and applies each event,
    /// until `stop` is set and a read that began after it found nothing new.
    static func consume(_ connection: PostgresConnection, from start: Consumed, stop: StopSignal) async throws -> Consumed {
        var state = start
        let feed = PostgresChangeFeed(connection: connection)
        try await feed.listen()
        var seenSet = Set<Int64>()
        while true {
            let done = stop.isSet
            let batch = try await FeedReplica.events(after: state.cursor, limit: 200, connection)
            for event in batch {
                if !seenSet.insert(event.seq).inserted { state.duplicates.append(event.seq) }
                if event.seq <= state.cursor { state.outOfOrder.append(event.seq) }
                try await state.replica.apply(event, connection)
                state.cursor = max(state.cursor, event.seq)
                state.seen.append(event.seq)
            }
            if batch.isEmpty {
                // `stop` was set before this read began, so the read saw every committed event.
                if done { return state }
                _ = try await feed.wait(timeout: 0.003)
            }
        }
    }

    /// Onboards `domain` and returns its tenant.
    static func tenant(_ h: SyncHarness, _ index: Int) async throws -> (id: UUID, domain: String) {
        let tenants = try await h.sim.tenants()
        let domain = tenants[index].domains.first { $0.verified }!.name
        return (tenants[index].id, domain)
    }

    @Test("a consumer applying changes_since keeps an exact copy through concurrent incremental, --full, 410 and killed runs; dirsync changes --follow prints the same events",
          .timeLimit(.minutes(6)))
    func replicaStaysExact() async throws {
        try await SyncHarness.with(Self.simulator) { h in
            var found: [(id: UUID, domain: String)] = []
            for index in 0..<5 { found.append(try await Self.tenant(h, index)) }
            let tenants = found
            try await h.onboard(tenants.prefix(4).map { ($0.domain, $0.id) })
            try await h.run()

            // A quiet moment: copy the tables and the cursor in one snapshot.
            let consumerConnection = try await h.database.connect()
            try await consumerConnection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            let start = Int64(try await consumerConnection.query("SELECT directory.changes_cursor() AS c").first!.int("c"))
            let copy = try await FeedReplica.read(consumerConnection)
            try await consumerConnection.execute("COMMIT")
            #expect(start > 0, "the first syncs' snapshot events should have moved the cursor")

            let follower = try h.start(["changes", "--follow", "--since", "\(start)"])
            let stop = StopSignal()
            let consuming = Task { try await Self.consume(consumerConnection, from: Consumed(replica: copy, cursor: start), stop: stop) }

            var random = SplitMix64(seed: 1515)
            var kills = 0
            for round in 0..<4 {
                for (index, tenant) in tenants.prefix(4).enumerated() {
                    try await h.sim.mutate(tenant: tenant.id, seed: 1500 + round * 10 + index, count: 40)
                    try await h.sim.mutate(tenant: tenant.id, operations: try await ReadSideEndToEndTests.nestingChanges(h, tenant: tenant.id, seed: 1600 + round * 10 + index))
                }
                // Each tenant takes each role in turn: incremental, --full, 410 resync, killed and rerun.
                let roles = (0..<4).map { (round + $0) % 4 }
                // The run to kill is killed while graph-sim holds one of its users pages (seeded), before
                // the others start: graph-sim's hold is not per tenant. Its rerun runs with them.
                if let doomed = roles.firstIndex(of: 3) {
                    let killed = try await h.runKilled(["--domain", tenants[doomed].domain, "--full"], after: 1 + random.int(3))
                    #expect(killed.signalled, "the run is killed mid-round: \(killed.stderr.suffix(600))")
                    kills += 1
                }
                if round == 2 { try await h.onboard([(tenants[4].domain, tenants[4].id)]) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, tenant) in tenants.prefix(4).enumerated() {
                        group.addTask {
                            let only = ["--domain", tenant.domain]
                            switch roles[index] {
                            case 0: try await h.run(only)
                            case 1: try await h.run(only + ["--full", "--allow-deletes"])
                            case 2:
                                try await h.sim.addFault(["kind": "deltaLinkGone", "tenant": tenant.id.uuidString.lowercased(), "count": 3])
                                try await h.run(only + ["--allow-deletes"])
                            default: try await h.run(only + ["--allow-deletes"])
                            }
                        }
                    }
                    if round == 2 { group.addTask { try await h.run(["--domain", tenants[4].domain]) } }
                    try await group.waitForAll()
                }
            }

            #expect(kills == 4)
            stop.set()
            let consumed = try await consuming.value
            let tables = try await FeedReplica.read(h.connection)
            let differences = consumed.replica.differences(from: tables)
            #expect(differences.isEmpty, "the consumer's copy differs from the tables:\n\(differences.joined(separator: "\n"))")
            #expect(consumed.replica.objects.count == tables.objects.count && consumed.replica.memberships.count == tables.memberships.count)
            #expect(consumed.duplicates.isEmpty, "seqs seen twice: \(consumed.duplicates.prefix(10))")
            #expect(consumed.outOfOrder.isEmpty, "seqs seen after a larger one: \(consumed.outOfOrder.prefix(10))")
            let seen = consumed.seen
            #expect(seen.count > 500, "the rounds should have produced hundreds of events, not \(seen.count)")
            let snapshots = try await h.scalar("SELECT count(*)::int AS n FROM directory.changes WHERE seq > \(start) AND op = 'snapshot' AND tenant_id = \(tenants[4].id)")
            #expect(snapshots == 4, "the tenant onboarded mid-way reaches the feed as one snapshot per entity, not \(snapshots)")

            // The follower printed the same events, then ends cleanly on SIGTERM with the cursor.
            let final = try #require(seen.last)
            _ = try await follower.process.outputLine("the event with seq \(final)") { $0.contains("\"seq\":\(final),") }
            follower.process.send(SIGTERM)
            let ended = try await follower.finish()
            var printed: [Int64] = []
            for line in ended.stdout.split(whereSeparator: \.isNewline) {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
                printed.append(try #require((object["seq"] as? NSNumber)?.int64Value, "no seq in \(line)"))
            }
            #expect(ended.exitCode == 0 && !ended.signalled, "dirsync changes --follow should end cleanly on SIGTERM: \(ended.stderr.suffix(600))")
            #expect(printed == seen, "dirsync changes --follow printed \(printed.count) events, the consumer applied \(seen.count)")
            let lastLine = ended.stderr.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
            #expect(lastLine.contains("cursor \(final)"), "the last stderr line gives the cursor to resume from: \(lastLine)")
            await consumerConnection.close()
        }
    }

    @Test("pruning past a consumer that is behind makes dirsync changes refuse its cursor with the re-read advice, exit 1, never a silent gap")
    func pruneExpiresCursor() async throws {
        try await SyncHarness.with(["--users", "60", "--groups", "8", "--seed", "152"]) { h in
            let tenant = try await Self.tenant(h, 0)
            try await h.onboard([(tenant.domain, tenant.id)])
            try await h.run()
            try await h.sim.mutate(tenant: tenant.id, seed: 5, count: 30)
            try await h.run()
            let behind = try await h.dirsync(["changes", "--since", "0", "--limit", "1"])
            #expect(behind.exitCode == 0, "\(behind.stderr)")
            let cursor = try #require(behind.stderr.split(whereSeparator: \.isNewline).last.flatMap { line in
                line.split(separator: " ").last.map { Int64($0.trimmingCharacters(in: .punctuationCharacters)) } ?? nil
            })
            // Two days on, events older than a day are pruned: all of them.
            let later = Date().addingTimeInterval(2 * 86_400).formatted(.iso8601)
            let pruned = try await h.dirsync(["changes", "prune", "--older-than", "1d", "--now", later])
            #expect(pruned.stdout.contains("pruned"), "\(pruned.stdout)")
            #expect(pruned.exitCode == 0, "\(pruned.stderr)")
            let refused = try await h.dirsync(["changes", "--since", "\(cursor)"])
            #expect(refused.exitCode == 1)
            #expect(refused.stdout.isEmpty, "no event may be printed past a gap: \(refused.stdout.prefix(300))")
            #expect(refused.stderr.contains("expired") && refused.stderr.contains("re-read"), "\(refused.stderr)")
            // Re-reading the tables and continuing from --latest works again.
            let latest = try await h.dirsync(["changes", "--latest"])
            let next = try await h.dirsync(["changes", "--since", latest.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
            #expect(next.exitCode == 0 && next.stdout.isEmpty, "\(next.stderr)")
        }
    }
}
