import DirSyncCore
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

/// The change feed at the database: the triggers' events, commit-ordered numbering, snapshots,
/// wake-ups, pruning and expired cursors.
@Suite("Change feed: events, order, snapshots, wake-ups, pruning", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ChangeFeedTests {
    let tenant = UUID()

    struct Event: Equatable, CustomStringConvertible {
        var seq: Int
        var entity: String
        var op: String
        var object: UUID?
        var group: UUID?
        var changes: String
        var description: String { "\(seq) \(entity) \(op) \(changes)" }
    }

    private func events(_ connection: PostgresConnection, after cursor: Int = 0) async throws -> [Event] {
        try await connection.query("SELECT seq, entity, op, object_id, group_id, changes::text AS changes FROM directory.changes_since(\(cursor), 1000)").map {
            Event(seq: try $0.int("seq"), entity: try $0.string("entity"), op: try $0.string("op"), object: try $0.optionalUUID("object_id"),
                  group: try $0.optionalUUID("group_id"), changes: try $0.string("changes"))
        }
    }

    @Test("one event per real change: created, updated (only the changed columns), deleted with its reason, restored; nothing for a row that did not change")
    func objectEvents() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let alice = UUID()
            try await connection.execute("""
                INSERT INTO directory.users (tenant_id, id, display_name, mail, proxy_addresses) VALUES (\(tenant), \(alice), 'Alice', 'a@x.example', ARRAY['SMTP:a@x.example'])
                """)
            try await connection.execute("UPDATE directory.users SET display_name = 'Alice B', mail = NULL, updated_at = now() + interval '1 second' WHERE id = \(alice)")
            // A full round's re-stamp: nothing but sync_round changes, updated_at stays.
            try await connection.execute("UPDATE directory.users SET sync_round = 7 WHERE id = \(alice)")
            try await connection.execute("UPDATE directory.users SET deleted_at = now(), deleted_reason = 'soft_deleted', updated_at = now() + interval '2 seconds' WHERE id = \(alice)")
            try await connection.execute("UPDATE directory.users SET deleted_at = NULL, deleted_reason = NULL, updated_at = now() + interval '3 seconds' WHERE id = \(alice)")
            let all = try await events(connection)
            #expect(all.map(\.op) == ["created", "updated", "deleted", "restored"], "\(all)")
            // A created row lists every column that holds a value: attributes are an empty object, not NULL.
            #expect(all[0].changes == #"{"mail": "a@x.example", "attributes": {}, "display_name": "Alice", "proxy_addresses": ["SMTP:a@x.example"]}"#)
            #expect(all[1].changes == #"{"mail": null, "display_name": "Alice B"}"#)
            #expect(all[2].changes == #"{"deleted_reason": "soft_deleted"}"#)
            #expect(all[3].changes == "{}")
            #expect(all.map(\.seq) == all.map(\.seq).sorted() && Set(all.map(\.seq)).count == 4)
        }
    }

    @Test("memberships: added and removed, with the group and the member's type; a re-stamp is no event")
    func membershipEvents() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            let (group, member) = (UUID(), UUID())
            try await connection.execute("INSERT INTO directory.group_members (tenant_id, group_id, member_id, member_type) VALUES (\(tenant), \(group), \(member), 'user')")
            try await connection.execute("UPDATE directory.group_members SET sync_round = 3 WHERE group_id = \(group)")
            try await connection.execute("DELETE FROM directory.group_members WHERE group_id = \(group)")
            let all = try await events(connection)
            #expect(all.map(\.op) == ["added", "removed"])
            #expect(all.allSatisfy { $0.entity == "membership" && $0.object == member && $0.group == group })
        }
    }

    @Test("a transaction in snapshot mode writes no row events; its snapshot events tell consumers to re-read")
    func snapshotMode() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            try await connection.withTransaction { tx in
                try await tx.execute("SELECT set_config('dirsync.feed', 'snapshot', true), set_config('dirsync.run_id', '42', true)")
                try await tx.execute("INSERT INTO directory.users (tenant_id, id, display_name) SELECT \(tenant), gen_random_uuid(), 'u' || i FROM generate_series(1, 50) i")
                try await tx.execute("SELECT directory.queue_snapshot(\(tenant), 'user')")
            }
            let all = try await events(connection)
            #expect(all.map(\.op) == ["snapshot"] && all.first?.entity == "user" && all.first?.object == nil)
            #expect(try await connection.query("SELECT run_id FROM directory.changes").first?.int("run_id") == 42)
        }
    }

    @Test("events are numbered when their transaction commits: a transaction that started first but commits last gets the larger seq")
    func commitOrder() async throws {
        try await TestDatabase.with { database in
            let early = try await database.connect(), late = try await database.connect(), reader = try await database.connect()
            try await early.execute("BEGIN")
            try await early.execute("INSERT INTO directory.users (tenant_id, id, display_name) VALUES (\(tenant), gen_random_uuid(), 'early')")
            try await late.execute("INSERT INTO directory.users (tenant_id, id, display_name) VALUES (\(tenant), gen_random_uuid(), 'late')")
            let first = try await events(reader)
            #expect(first.count == 1)
            try await early.execute("COMMIT")
            let next = try await events(reader, after: first.last!.seq)
            #expect(next.count == 1 && next[0].seq > first[0].seq, "the early transaction's event must come after the cursor the reader stored")
            #expect(next[0].changes.contains("early"))
        }
    }

    @Test("each transaction that writes events wakes listeners with NOTIFY directory_changes and the tenant id, at commit")
    func notifyAtCommit() async throws {
        try await TestDatabase.with { database in
            let listener = try await database.connect(), writer = try await database.connect()
            try await listener.execute("LISTEN directory_changes")
            try await writer.execute("BEGIN")
            try await writer.execute("INSERT INTO directory.users (tenant_id, id) VALUES (\(tenant), gen_random_uuid())")
            #expect(try await listener.notifications(timeout: 0.2).isEmpty, "nothing before the commit")
            try await writer.execute("COMMIT")
            #expect(try await listener.notifications(timeout: 10) == [tenant.uuidString.lowercased()])
        }
    }

    @Test("pruning deletes a prefix in batches; a consumer behind it gets the expired-cursor error, never a silent gap")
    func pruning() async throws {
        try await TestDatabase.with { database in
            let connection = try await database.connect()
            for i in 0..<25 { try await connection.execute("INSERT INTO directory.users (tenant_id, id, display_name) VALUES (\(tenant), gen_random_uuid(), \("u\(i)"))") }
            try await connection.execute("UPDATE directory.changes SET committed_at = now() - interval '30 days' WHERE seq <= 20")
            let (deleted, through) = try await PostgresChangeFeed(connection: connection).prune(before: Date().addingTimeInterval(-86_400), batch: 7)
            #expect(deleted == 20 && through == 20)
            do {
                _ = try await PostgresChangeFeed(connection: connection).read(after: 5, limit: 100, tenants: [])
                Issue.record("a cursor behind the pruned events must be refused")
            } catch let expired as PostgresChangeFeed.ExpiredCursor {
                #expect(expired.message.contains("expired") && expired.message.contains("re-read the directory tables"))
            }
            #expect(try await PostgresChangeFeed(connection: connection).read(after: 20, limit: 100, tenants: []).read == 5)
            #expect(try await PostgresChangeFeed(connection: connection).latest() == 25)
        }
    }
}
