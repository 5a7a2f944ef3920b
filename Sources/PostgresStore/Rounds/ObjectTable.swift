import DirSyncCore
import Foundation

/// The SQL of one synced object table, derived from its ``DirSyncCore/FieldTable`` so staging, COPY
/// and merge can never disagree with each other or with decoding.
///
/// Rows arrive in a session-local staging table with a presence mask: bit *i* set means the page
/// carried contract field *i* (a value or an explicit null). The merge keeps the stored value of every
/// column whose bit is clear, which is how "absent leaves the column untouched" reaches SQL.
/// Operator-chosen properties arrive as one JSON object of the keys the page carried, merged over
/// the stored `attributes` key by key.
struct ObjectTable: Sendable {
    let fields: FieldTable

    init(_ fields: FieldTable) {
        self.fields = fields
    }

    /// `directory.users`, `directory.groups`.
    var name: String { "directory.\(fields.resource.rawValue)" }
    var stage: String { "pg_temp.stage_\(fields.resource.rawValue)" }

    /// Whether rows carry operator-chosen properties (the `attributes` column is then written).
    var writesAttributes: Bool { !fields.attributeFields.isEmpty }

    private var columns: ArraySlice<Field> { fields.contractFields }
    /// The written columns: the contract's, then `attributes` when properties were chosen.
    private var written: [String] { columns.map(\.column) + (writesAttributes ? [FieldTable.attributesColumn] : []) }
    private var names: String { written.joined(separator: ", ") }

    /// Creates the staging table once per session; it empties itself at every commit.
    var createStage: SQL {
        let types = columns.map { "\($0.column) \($0.kind.sqlType)" } + (writesAttributes ? ["\(FieldTable.attributesColumn) jsonb"] : [])
        return SQL(unsafeSQL: "CREATE TEMP TABLE IF NOT EXISTS stage_\(fields.resource.rawValue) (id uuid NOT NULL, mask bigint NOT NULL, "
            + types.joined(separator: ", ") + ") ON COMMIT DELETE ROWS")
    }

    var copyStage: SQL { SQL(unsafeSQL: "COPY \(stage) (id, mask, \(names)) FROM STDIN") }

    /// COPYs rows that do not exist yet straight into the table (see ``DirSyncCore/WritePathPolicy``).
    var copyNew: SQL { SQL(unsafeSQL: "COPY \(name) (tenant_id, id, \(names), sync_round) FROM STDIN") }

    /// Upserts staged rows: `$1` tenant, `$2` the full round's id (NULL in incremental rounds).
    /// Clears `deleted_at` (a reported object exists), touches `updated_at` only when something
    /// changed, and skips rows that would not change at all — also in full rounds, which record what
    /// they saw in `directory.round_seen` instead of re-stamping it. A full round clears
    /// relationships it did not report.
    var merge: SQL {
        var merged = columns.enumerated().map { index, column in
            // In a full round ($2 set), a field it did not report may mean "none" (see FieldKind).
            let present = "s.mask & \(Int64(1) << index) <> 0" + (column.kind.absentInFullRoundMeansNone ? " OR $2::bigint IS NOT NULL" : "")
            return "CASE WHEN \(present) THEN s.\(column.column) ELSE c.\(column.column) END AS \(column.column)"
        }
        if writesAttributes {
            let column = FieldTable.attributesColumn
            merged.append("coalesce(c.\(column), '{}'::jsonb) || coalesce(s.\(column), '{}'::jsonb) AS \(column)")
        }
        let stored = "(" + written.map { "t.\($0)" }.joined(separator: ", ") + ", t.deleted_at)"
        let incoming = "(" + written.map { "EXCLUDED.\($0)" }.joined(separator: ", ") + ", NULL::timestamptz)"
        // Only new and changed rows reach INSERT … ON CONFLICT: a conflicting row is locked (written)
        // even when the update's WHERE then skips it, which would rewrite every row of a full round.
        let before = "ROW(" + written.map { "c.\($0)" }.joined(separator: ", ") + ", c.deleted_at)"
        let after = "ROW(" + written.map { "m.\($0)" }.joined(separator: ", ") + ", NULL::timestamptz)"
        return SQL(unsafeSQL: """
            WITH merged AS (
                SELECT s.id, \(before) AS before, c.id IS NULL AS fresh,
                       \(merged.joined(separator: ",\n       "))
                FROM \(stage) s LEFT JOIN \(name) c ON c.tenant_id = $1 AND c.id = s.id
            )
            INSERT INTO \(name) AS t (tenant_id, id, \(names), deleted_at, deleted_reason, updated_at, sync_round)
            SELECT $1, m.id, \(written.map { "m.\($0)" }.joined(separator: ", ")), NULL, NULL, now(), $2::bigint FROM merged m
            WHERE m.fresh OR m.before IS DISTINCT FROM \(after)
            ON CONFLICT (tenant_id, id) DO UPDATE SET
                \(written.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")),
                deleted_at = NULL, deleted_reason = NULL,
                sync_round = COALESCE(EXCLUDED.sync_round, t.sync_round),
                updated_at = CASE WHEN \(stored) IS DISTINCT FROM \(incoming) THEN now() ELSE t.updated_at END
            WHERE \(stored) IS DISTINCT FROM \(incoming)
            """)
    }

    /// Removes from `attributes` every key that is no longer chosen (`$1` tenant, `$2` the chosen
    /// names), after a full round read the objects with the current choice.
    var dropUnchosenAttributes: SQL? {
        guard fields.storesAttributes else { return nil }
        let column = FieldTable.attributesColumn
        return SQL(unsafeSQL: """
            UPDATE \(name) SET \(column) = (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
                                           FROM jsonb_each(\(column)) e WHERE e.key = ANY($2::text[])),
                updated_at = now()
            WHERE tenant_id = $1 AND \(column) <> '{}'::jsonb
              AND EXISTS (SELECT 1 FROM jsonb_object_keys(\(column)) k WHERE NOT (k = ANY($2::text[])))
            """)
    }
}

extension CopyBuffer {
    /// Stages a row: id, presence mask, the contract fields in table order, then the chosen properties.
    mutating func appendStaged(_ change: ObjectChange, _ table: ObjectTable) {
        append(change.id)
        var mask = 0
        for (bit, patch) in change.values.prefix(table.fields.contractFieldCount).enumerated() where patch.isPresent { mask |= 1 << bit }
        append(mask)
        appendFields(change, table)
        if table.writesAttributes {
            if let patch = change.attributesPatch(table.fields) { append(patch) } else { appendNull() }
        }
        endRow()
    }

    /// A new row for ``ObjectTable/copyNew``: absent fields are NULL, as the merge would leave them.
    mutating func appendNew(_ change: ObjectChange, _ table: ObjectTable, tenant: UUID, round: Int64?) {
        append(tenant)
        append(change.id)
        appendFields(change, table)
        if table.writesAttributes { append(change.attributesPatch(table.fields) ?? "{}") }
        append(round.map(Int.init))
        endRow()
    }

    /// The contract fields in table order; absent and null both append NULL (the mask tells them apart).
    private mutating func appendFields(_ change: ObjectChange, _ table: ObjectTable) {
        for patch in change.values.prefix(table.fields.contractFieldCount) {
            switch patch {
            case .absent, .null: appendNull()
            case .value(.text(let text)), .value(.json(let text)): append(text)
            case .value(.boolean(let value)): append(value)
            case .value(.texts(let texts)): append(texts)
            case .value(.reference(let id)): append(id)
            }
        }
    }
}
