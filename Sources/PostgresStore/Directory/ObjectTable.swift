import DirSyncCore
import Foundation

/// The SQL for one synced object table (`directory.users` or `directory.groups`), generated from one
/// list of columns so staging, COPY and merge can never disagree.
///
/// Rows arrive in a session-local staging table with a presence mask: bit *i* set means the page
/// carried column *i* (a value or an explicit null). The merge keeps the stored value of every
/// column whose bit is clear, which is how "absent leaves the column untouched" reaches SQL.
struct ObjectTable: Sendable {
    struct Column: Sendable {
        var name: String
        var type: String
    }

    let resource: DirectoryResource
    let columns: [Column]

    var table: String { "directory.\(resource.rawValue)" }
    var stage: String { "pg_temp.stage_\(resource.rawValue)" }

    static let users = ObjectTable(resource: .users, columns: [
        Column(name: "user_principal_name", type: "text"),
        Column(name: "display_name", type: "text"),
        Column(name: "given_name", type: "text"),
        Column(name: "surname", type: "text"),
        Column(name: "mail", type: "text"),
        Column(name: "job_title", type: "text"),
        Column(name: "department", type: "text"),
        Column(name: "account_enabled", type: "boolean"),
        Column(name: "user_type", type: "text"),
        Column(name: "proxy_addresses", type: "text[]"),
    ])

    static let groups = ObjectTable(resource: .groups, columns: [
        Column(name: "display_name", type: "text"),
        Column(name: "description", type: "text"),
        Column(name: "mail", type: "text"),
        Column(name: "mail_nickname", type: "text"),
        Column(name: "mail_enabled", type: "boolean"),
        Column(name: "security_enabled", type: "boolean"),
        Column(name: "group_types", type: "text[]"),
    ])

    static func forResource(_ resource: DirectoryResource) -> ObjectTable {
        resource == .users ? .users : .groups
    }

    private var names: String { columns.map(\.name).joined(separator: ", ") }

    /// Creates the staging table once per session; it empties itself at every commit.
    var createStage: SQL {
        SQL(unsafeSQL: "CREATE TEMP TABLE IF NOT EXISTS stage_\(resource.rawValue) (id uuid NOT NULL, mask integer NOT NULL, "
            + columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ") + ") ON COMMIT DELETE ROWS")
    }

    var copyStage: SQL { SQL(unsafeSQL: "COPY \(stage) (id, mask, \(names)) FROM STDIN") }

    /// COPYs rows that do not exist yet straight into the table (see `PostgresRoundStore`'s new-row path).
    var copyNew: SQL { SQL(unsafeSQL: "COPY \(table) (tenant_id, id, \(names), sync_round) FROM STDIN") }

    /// Upserts staged rows: `$1` tenant, `$2` the full round's id (NULL in incremental rounds).
    /// Clears `deleted_at` (a reported object exists), touches `updated_at` only when something
    /// changed, and skips rows that would not change at all (replays cost nothing).
    var merge: SQL {
        let merged = columns.enumerated().map { index, column in
            "CASE WHEN s.mask & \(1 << index) <> 0 THEN s.\(column.name) ELSE c.\(column.name) END AS \(column.name)"
        }.joined(separator: ",\n       ")
        let stored = "(" + columns.map { "t.\($0.name)" }.joined(separator: ", ") + ", t.deleted_at)"
        let incoming = "(" + columns.map { "EXCLUDED.\($0.name)" }.joined(separator: ", ") + ", NULL::timestamptz)"
        return SQL(unsafeSQL: """
            WITH merged AS (
                SELECT s.id,
                       \(merged)
                FROM \(stage) s LEFT JOIN \(table) c ON c.tenant_id = $1 AND c.id = s.id
            )
            INSERT INTO \(table) AS t (tenant_id, id, \(names), deleted_at, deleted_reason, updated_at, sync_round)
            SELECT $1, m.id, \(columns.map { "m.\($0.name)" }.joined(separator: ", ")), NULL, NULL, now(), $2::bigint FROM merged m
            ON CONFLICT (tenant_id, id) DO UPDATE SET
                \(columns.map { "\($0.name) = EXCLUDED.\($0.name)" }.joined(separator: ", ")),
                deleted_at = NULL, deleted_reason = NULL,
                sync_round = COALESCE(EXCLUDED.sync_round, t.sync_round),
                updated_at = CASE WHEN \(stored) IS DISTINCT FROM \(incoming) THEN now() ELSE t.updated_at END
            WHERE \(stored) IS DISTINCT FROM \(incoming)
               OR (EXCLUDED.sync_round IS NOT NULL AND t.sync_round IS DISTINCT FROM EXCLUDED.sync_round)
            """)
    }
}

/// A user or group report as the store writes it: staged with a presence mask for the merge, or as
/// a new row for ``ObjectTable/copyNew``.
protocol StagedChange: RepeatableChange {
    /// Bit *i* set when the *i*-th column of the object's table was present (a value or null).
    var presenceMask: Int { get }
    /// Appends the object's columns in table order; absent and null both append NULL.
    func appendColumns(to buffer: inout CopyBuffer)
}

extension CopyBuffer {
    /// Stages a row: id, presence mask, then the columns in table order.
    mutating func appendStaged(_ change: some StagedChange) {
        append(change.id)
        append(change.presenceMask)
        change.appendColumns(to: &self)
        endRow()
    }

    /// A new row for ``ObjectTable/copyNew``: absent properties are NULL, as the merge would leave them.
    mutating func appendNew(_ change: some StagedChange, tenant: UUID, round: Int64?) {
        append(tenant)
        append(change.id)
        change.appendColumns(to: &self)
        append(round.map(Int.init))
        endRow()
    }

    /// Appends a patch's value as a column: absent and null both append NULL (the mask tells them apart).
    mutating func appendPatch(_ patch: Patch<String>) {
        if case .value(let value) = patch { append(value) } else { appendNull() }
    }

    mutating func appendPatch(_ patch: Patch<Bool>) {
        if case .value(let value) = patch { append(value) } else { appendNull() }
    }

    mutating func appendPatch(_ patch: Patch<[String]>) {
        if case .value(let value) = patch { append(value) } else { appendNull() }
    }
}

/// The presence mask of `present`, one bit per column in order.
private func presenceMask(_ present: Bool...) -> Int {
    var mask = 0
    for (bit, isPresent) in present.enumerated() where isPresent { mask |= 1 << bit }
    return mask
}

extension UserChange: StagedChange {
    /// Columns of ``ObjectTable/users``, in order.
    var presenceMask: Int {
        PostgresStore.presenceMask(
            userPrincipalName.isPresent, displayName.isPresent, givenName.isPresent, surname.isPresent, mail.isPresent,
            jobTitle.isPresent, department.isPresent, accountEnabled.isPresent, userType.isPresent, proxyAddresses.isPresent)
    }

    func appendColumns(to buffer: inout CopyBuffer) {
        buffer.appendPatch(userPrincipalName)
        buffer.appendPatch(displayName)
        buffer.appendPatch(givenName)
        buffer.appendPatch(surname)
        buffer.appendPatch(mail)
        buffer.appendPatch(jobTitle)
        buffer.appendPatch(department)
        buffer.appendPatch(accountEnabled)
        buffer.appendPatch(userType)
        buffer.appendPatch(proxyAddresses)
    }
}

extension GroupChange: StagedChange {
    /// Columns of ``ObjectTable/groups``, in order.
    var presenceMask: Int {
        PostgresStore.presenceMask(
            displayName.isPresent, description.isPresent, mail.isPresent, mailNickname.isPresent, mailEnabled.isPresent,
            securityEnabled.isPresent, groupTypes.isPresent)
    }

    func appendColumns(to buffer: inout CopyBuffer) {
        buffer.appendPatch(displayName)
        buffer.appendPatch(description)
        buffer.appendPatch(mail)
        buffer.appendPatch(mailNickname)
        buffer.appendPatch(mailEnabled)
        buffer.appendPatch(securityEnabled)
        buffer.appendPatch(groupTypes)
    }
}
