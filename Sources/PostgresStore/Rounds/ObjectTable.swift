import DirSyncCore
import Foundation

/// The SQL of one synced object table, derived from its ``DirSyncCore/FieldTable`` so staging, COPY
/// and merge can never disagree with each other or with decoding.
///
/// Rows arrive in a session-local staging table with a presence mask: bit *i* set means the page
/// carried field *i* (a value or an explicit null). The merge keeps the stored value of every column
/// whose bit is clear, which is how "absent leaves the column untouched" reaches SQL.
struct ObjectTable: Sendable {
    let fields: FieldTable

    init(_ fields: FieldTable) {
        self.fields = fields
    }

    /// `directory.users`, `directory.groups`.
    var name: String { "directory.\(fields.resource.rawValue)" }
    var stage: String { "pg_temp.stage_\(fields.resource.rawValue)" }

    private var columns: [Field] { fields.fields }
    private var names: String { columns.map(\.column).joined(separator: ", ") }

    /// Creates the staging table once per session; it empties itself at every commit.
    var createStage: SQL {
        SQL(unsafeSQL: "CREATE TEMP TABLE IF NOT EXISTS stage_\(fields.resource.rawValue) (id uuid NOT NULL, mask bigint NOT NULL, "
            + columns.map { "\($0.column) \($0.kind.sqlType)" }.joined(separator: ", ") + ") ON COMMIT DELETE ROWS")
    }

    var copyStage: SQL { SQL(unsafeSQL: "COPY \(stage) (id, mask, \(names)) FROM STDIN") }

    /// COPYs rows that do not exist yet straight into the table (see ``DirSyncCore/WritePathPolicy``).
    var copyNew: SQL { SQL(unsafeSQL: "COPY \(name) (tenant_id, id, \(names), sync_round) FROM STDIN") }

    /// Upserts staged rows: `$1` tenant, `$2` the full round's id (NULL in incremental rounds).
    /// Clears `deleted_at` (a reported object exists), touches `updated_at` only when something
    /// changed, and skips rows that would not change at all (replays cost nothing).
    var merge: SQL {
        let merged = columns.enumerated().map { index, column in
            "CASE WHEN s.mask & \(Int64(1) << index) <> 0 THEN s.\(column.column) ELSE c.\(column.column) END AS \(column.column)"
        }.joined(separator: ",\n       ")
        let stored = "(" + columns.map { "t.\($0.column)" }.joined(separator: ", ") + ", t.deleted_at)"
        let incoming = "(" + columns.map { "EXCLUDED.\($0.column)" }.joined(separator: ", ") + ", NULL::timestamptz)"
        return SQL(unsafeSQL: """
            WITH merged AS (
                SELECT s.id,
                       \(merged)
                FROM \(stage) s LEFT JOIN \(name) c ON c.tenant_id = $1 AND c.id = s.id
            )
            INSERT INTO \(name) AS t (tenant_id, id, \(names), deleted_at, deleted_reason, updated_at, sync_round)
            SELECT $1, m.id, \(columns.map { "m.\($0.column)" }.joined(separator: ", ")), NULL, NULL, now(), $2::bigint FROM merged m
            ON CONFLICT (tenant_id, id) DO UPDATE SET
                \(columns.map { "\($0.column) = EXCLUDED.\($0.column)" }.joined(separator: ", ")),
                deleted_at = NULL, deleted_reason = NULL,
                sync_round = COALESCE(EXCLUDED.sync_round, t.sync_round),
                updated_at = CASE WHEN \(stored) IS DISTINCT FROM \(incoming) THEN now() ELSE t.updated_at END
            WHERE \(stored) IS DISTINCT FROM \(incoming)
               OR (EXCLUDED.sync_round IS NOT NULL AND t.sync_round IS DISTINCT FROM EXCLUDED.sync_round)
            """)
    }
}

extension CopyBuffer {
    /// Stages a row: id, presence mask, then the fields in table order.
    mutating func appendStaged(_ change: ObjectChange) {
        append(change.id)
        var mask = 0
        for (bit, patch) in change.values.enumerated() where patch.isPresent { mask |= 1 << bit }
        append(mask)
        appendFields(change)
        endRow()
    }

    /// A new row for ``ObjectTable/copyNew``: absent fields are NULL, as the merge would leave them.
    mutating func appendNew(_ change: ObjectChange, tenant: UUID, round: Int64?) {
        append(tenant)
        append(change.id)
        appendFields(change)
        append(round.map(Int.init))
        endRow()
    }

    /// The fields in table order; absent and null both append NULL (the mask tells them apart).
    private mutating func appendFields(_ change: ObjectChange) {
        for patch in change.values {
            switch patch {
            case .absent, .null: appendNull()
            case .value(.text(let text)): append(text)
            case .value(.boolean(let value)): append(value)
            case .value(.texts(let texts)): append(texts)
            case .value(.reference(let id)): append(id)
            }
        }
    }
}
