import DirSyncCore
import Foundation
import Synchronization

/// ``DirSyncCore/FirstLoadStore`` over PostgreSQL: one tenant, one session.
///
/// Everything a load writes goes straight into the contract tables, as a first round's pages do —
/// COPY for rows that are new, the merge for repeats — stamped with the load's round id, in
/// transactions that also move each stream's position (migration 0009), so a killed load resumes
/// from what it committed. Like a first round, the load emits no change events row by row and leaves
/// the nesting closure alone; the transaction that completes it stores the links taken at the start
/// as the cursors, queues one snapshot event per entity and builds the closure.
public final class PostgresFirstLoadStore: FirstLoadStore {
    private let connection: PostgresConnection
    private let tenantID: UUID
    private let schema: DirectorySchema
    private let runID: Int64?
    private let writers: [DirectoryResource: ObjectWriter]
    private let started = Mutex(false)

    public init(connection: PostgresConnection, tenantID: UUID, schema: DirectorySchema, runID: Int64?) {
        self.connection = connection
        self.tenantID = tenantID
        self.schema = schema
        self.runID = runID
        var writers: [DirectoryResource: ObjectWriter] = [:]
        for resource in DirectoryResource.allCases { writers[resource] = ObjectWriter(tenantID: tenantID, table: ObjectTable(schema[resource])) }
        self.writers = writers
    }

    public func storedLoad() async throws -> StoredFirstLoad? {
        guard let row = try await connection.query("""
            SELECT round_id, phase, links::text AS links, links_taken_at, wait_until, counted_users, counted_groups, reason
            FROM directory.first_loads WHERE tenant_id = \(tenantID)
            """, name: "read first load").first else { return nil }
        let streams = try await connection.query("""
            SELECT stream, next_link, pages, objects, restarts, group_ids::text[] AS group_ids
            FROM directory.first_load_streams WHERE tenant_id = \(tenantID)
            """, name: "read first load streams").compactMap { row -> StreamProgress? in
            guard let stream = LoadStream(key: try row.string("stream")) else { return nil }
            return StreamProgress(stream: stream, link: try row.optionalString("next_link"), pages: try row.int("pages"), objects: try row.int("objects"),
                                  restarts: try row.int("restarts"), groupIDs: (try row.optionalStringArray("group_ids") ?? []).compactMap(UUID.init(uuidString:)))
        }
        var links: [DirectoryResource: String] = [:]
        if let object = try JSONSerialization.jsonObject(with: Data(try row.string("links").utf8)) as? [String: String] {
            for (name, link) in object { if let resource = DirectoryResource(rawValue: name) { links[resource] = link } }
        }
        return StoredFirstLoad(roundID: Int64(try row.int("round_id")), phase: StoredFirstLoad.Phase(rawValue: try row.string("phase")) ?? .abandoned,
                               links: links, linksTakenAt: try row.date("links_taken_at"), waitUntil: try row.date("wait_until"),
                               countedUsers: try row.optionalInt("counted_users"), countedGroups: try row.optionalInt("counted_groups"),
                               streams: streams, reason: try row.optionalString("reason"))
    }

    public func isFirstSync() async throws -> Bool {
        try await connection.query("""
            SELECT NOT EXISTS (SELECT 1 FROM directory.sync_cursors WHERE tenant_id = \(tenantID)
                               AND (delta_link IS NOT NULL OR next_link IS NOT NULL OR pending_delta_link IS NOT NULL)) AS first
            """, name: "is first sync").first?.bool("first") ?? false
    }

    public func begin(_ load: StoredFirstLoad) async throws {
        let links = try String(decoding: JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: load.links.map { ($0.key.rawValue, $0.value) }),
                                                                options: [.sortedKeys]), as: UTF8.self)
        try await connection.withTransaction { tx in
            try await tx.execute("DELETE FROM directory.first_loads WHERE tenant_id = \(tenantID)", name: "forget an earlier first load")
            try await tx.execute("""
                INSERT INTO directory.first_loads (tenant_id, round_id, phase, links, links_taken_at, wait_until, counted_users, counted_groups)
                VALUES (\(tenantID), \(load.roundID), \(load.phase.rawValue), \(links)::jsonb, \(load.linksTakenAt), \(load.waitUntil),
                        \(load.countedUsers), \(load.countedGroups))
                """, name: "begin first load")
            try await self.storeProgress(load.streams, on: tx)
        }
    }

    public func showPhase(_ phase: String, expected: [DirectoryResource: Int]) async throws {
        guard let runID else { return }
        for resource in DirectoryResource.allCases {
            try await connection.execute("""
                INSERT INTO directory.sync_progress (tenant_id, resource, run_id, phase, pages, objects, expected_total, note, started_at, updated_at)
                VALUES (\(tenantID), \(resource.rawValue), \(runID), \(phase), 0, 0, \(expected[resource]), NULL, now(), now())
                ON CONFLICT (tenant_id, resource) DO UPDATE SET phase = EXCLUDED.phase, expected_total = EXCLUDED.expected_total, note = EXCLUDED.note,
                    run_id = EXCLUDED.run_id, updated_at = now(),
                    started_at = CASE WHEN directory.sync_progress.run_id = EXCLUDED.run_id THEN directory.sync_progress.started_at ELSE now() END,
                    pages = CASE WHEN directory.sync_progress.run_id = EXCLUDED.run_id THEN directory.sync_progress.pages ELSE 0 END,
                    objects = CASE WHEN directory.sync_progress.run_id = EXCLUDED.run_id THEN directory.sync_progress.objects ELSE 0 END
                """, name: "show first load phase")
        }
        // A parallel first load is a full run from its first phase, so status says so while it runs.
        try await connection.execute("""
            UPDATE directory.sync_runs SET mode = 'full' WHERE run_id = \(runID) AND mode = 'incremental'
            """, name: "run becomes full")
    }

    public func write(_ batch: LoadBatch, roundID: Int64) async throws -> PageWriteResult {
        if !started.withLock({ $0 }) {
            for writer in writers.values { try await writer.startRound(mode: .full, on: connection) }
            started.withLock { $0 = true }
        }
        do {
            return try await connection.withTransaction { tx in
                try await self.beginFirstRoundTransaction(on: tx)
                var result = PageWriteResult()
                var objects: [DirectoryResource: Int] = [:]
                for (resource, changes) in batch.objects where !changes.isEmpty {
                    result += try await self.writers[resource]!.upsert(changes, stamp: roundID, on: tx)
                    objects[resource, default: 0] += changes.count
                }
                if !batch.groups.objects.isEmpty || !batch.groups.membershipAdditions.isEmpty || !batch.groups.membershipRemovals.isEmpty {
                    let groups = self.writers[.groups]!
                    result += try await groups.upsert(batch.groups.objects, stamp: roundID, on: tx)
                    result.membershipsRemoved += try await groups.removeMemberships(batch.groups.membershipRemovals, on: tx)
                    result += try await groups.addMemberships(batch.groups.membershipAdditions, stamp: roundID, on: tx)
                    objects[.groups, default: 0] += batch.groups.objects.count
                }
                for (resource, ids) in batch.ids where !ids.isEmpty {
                    try await tx.execute("""
                        INSERT INTO directory.first_load_ids (tenant_id, resource, id)
                        SELECT \(self.tenantID), \(resource.rawValue), i FROM unnest(\(UUIDArray(ids))::uuid[]) AS i ON CONFLICT DO NOTHING
                        """, name: "store listed ids")
                }
                try await self.storeProgress(batch.progress, on: tx)
                if self.runID != nil {
                    for (resource, count) in objects {
                        try await tx.execute("""
                            UPDATE directory.sync_progress SET objects = objects + \(count), pages = pages + 1, updated_at = now()
                            WHERE tenant_id = \(self.tenantID) AND resource = \(resource.rawValue)
                            """, name: "advance first load progress")
                    }
                }
                return result
            }
        } catch {
            for writer in writers.values { writer.rolledBack() }
            throw error
        }
    }

    /// A load's transactions load first rounds: no change events row by row, no closure page by page.
    private func beginFirstRoundTransaction(on tx: PostgresConnection) async throws {
        try await tx.execute("""
            SELECT set_config('dirsync.run_id', coalesce(\(runID)::bigint::text, ''), true), set_config('dirsync.feed', 'snapshot', true)
            """, name: "begin first load transaction")
    }

    /// Upserts streams' positions (a done stream's link is stored as NULL).
    private func storeProgress(_ streams: [StreamProgress], on tx: PostgresConnection) async throws {
        guard !streams.isEmpty else { return }
        try await tx.execute("""
            INSERT INTO directory.first_load_streams (tenant_id, stream, next_link, pages, objects, restarts, group_ids)
            SELECT \(tenantID), NULLIF(s.stream, ''), NULLIF(s.next_link, ''), s.pages, s.objects, s.restarts,
                   CASE WHEN s.group_ids = '' THEN NULL ELSE string_to_array(s.group_ids, ',')::uuid[] END
            FROM unnest(\(streams.map(\.stream.description))::text[], \(streams.map { $0.link ?? "" })::text[], \(streams.map { String($0.pages) })::int[],
                        \(streams.map { String($0.objects) })::int[], \(streams.map { String($0.restarts) })::int[],
                        \(streams.map { $0.groupIDs.map { $0.uuidString.lowercased() }.joined(separator: ",") })::text[])
                 AS s (stream, next_link, pages, objects, restarts, group_ids)
            ON CONFLICT (tenant_id, stream) DO UPDATE SET next_link = EXCLUDED.next_link, pages = EXCLUDED.pages, objects = EXCLUDED.objects,
                restarts = EXCLUDED.restarts, group_ids = COALESCE(EXCLUDED.group_ids, directory.first_load_streams.group_ids)
            """, name: "store first load streams")
    }

    public func completeness(roundID: Int64) async throws -> LoadCompleteness {
        func missing(_ resource: DirectoryResource) async throws -> [UUID] {
            try await connection.query("""
                SELECT i.id FROM directory.first_load_ids i
                WHERE i.tenant_id = \(tenantID) AND i.resource = \(resource.rawValue)
                  AND NOT EXISTS (SELECT 1 FROM \(unescaped: "directory." + resource.rawValue) o WHERE o.tenant_id = i.tenant_id AND o.id = i.id)
                LIMIT 100000
                """, name: "find missing \(resource.rawValue)").map { try $0.uuid("id") }
        }
        let counts = try await connection.query("""
            SELECT (SELECT count(*) FROM directory.users WHERE tenant_id = \(tenantID) AND deleted_at IS NULL)::int AS users,
                   (SELECT count(*) FROM directory.groups WHERE tenant_id = \(tenantID) AND deleted_at IS NULL)::int AS groups
            """, name: "count loaded objects").first
        return LoadCompleteness(missingUsers: try await missing(.users), missingGroups: try await missing(.groups),
                                loadedUsers: try counts?.int("users") ?? 0, loadedGroups: try counts?.int("groups") ?? 0)
    }

    public func markVerifying() async throws {
        try await connection.execute("""
            UPDATE directory.first_loads SET phase = 'verifying', updated_at = now() WHERE tenant_id = \(tenantID) AND phase = 'listing'
            """, name: "first load verifying")
    }

    public func complete(_ load: StoredFirstLoad) async throws {
        try await connection.withTransaction { tx in
            try await self.beginFirstRoundTransaction(on: tx)
            for resource in DirectoryResource.allCases {
                guard let link = load.links[resource] else { continue }
                try await tx.execute("""
                    INSERT INTO directory.sync_cursors (tenant_id, resource, delta_link, delta_link_at, selected_properties)
                    VALUES (\(tenantID), \(resource.rawValue), \(link), \(load.linksTakenAt), \(schema[resource].selectedProperties)::text[])
                    ON CONFLICT (tenant_id, resource) DO UPDATE SET delta_link = EXCLUDED.delta_link, delta_link_at = EXCLUDED.delta_link_at,
                        selected_properties = EXCLUDED.selected_properties, round_mode = NULL, round_id = NULL, next_link = NULL,
                        round_pages = 0, pending_delta_link = NULL, updated_at = now()
                    """, name: "store first load links")
                try await RoundSession(tenantID: tenantID, resource: resource, runID: runID).completeFirstRound(on: tx)
            }
            try await tx.execute("DELETE FROM directory.first_load_streams WHERE tenant_id = \(tenantID)", name: "forget first load streams")
            try await tx.execute("DELETE FROM directory.first_load_ids WHERE tenant_id = \(tenantID)", name: "forget first load ids")
            try await self.forgetSeen(on: tx)
            try await tx.execute("""
                UPDATE directory.first_loads SET phase = 'completed', updated_at = now() WHERE tenant_id = \(tenantID)
                """, name: "first load completed")
            if self.runID != nil {
                try await tx.execute("""
                    UPDATE directory.sync_progress SET phase = 'done', updated_at = now() WHERE tenant_id = \(tenantID)
                    """, name: "first load progress done")
            }
        }
    }

    /// The load's writes recorded what they saw, as a full round's do; nothing sweeps on it.
    private func forgetSeen(on tx: PostgresConnection) async throws {
        try await tx.execute("DELETE FROM directory.round_seen WHERE tenant_id = \(tenantID)", name: "forget seen objects")
        try await tx.execute("DELETE FROM directory.round_seen_members WHERE tenant_id = \(tenantID)", name: "forget seen memberships")
    }

    public func abandon(reason: String) async throws {
        try await connection.withTransaction { tx in
            try await tx.execute("DELETE FROM directory.first_load_streams WHERE tenant_id = \(tenantID)", name: "forget first load streams")
            try await tx.execute("DELETE FROM directory.first_load_ids WHERE tenant_id = \(tenantID)", name: "forget first load ids")
            try await self.forgetSeen(on: tx)
            try await tx.execute("""
                UPDATE directory.first_loads SET phase = 'abandoned', reason = \(reason), updated_at = now() WHERE tenant_id = \(tenantID)
                """, name: "first load abandoned")
        }
    }
}
