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
    static func appendStaged(_ change: Self, to buffer: inout CopyBuffer)
    static func appendNew(_ change: Self, tenant: UUID, round: Int64?, to buffer: inout CopyBuffer)
}

extension UserChange: StagedChange {
    static func appendStaged(_ change: UserChange, to buffer: inout CopyBuffer) { buffer.appendStaged(change) }
    static func appendNew(_ change: UserChange, tenant: UUID, round: Int64?, to buffer: inout CopyBuffer) {
        buffer.appendNew(change, tenant: tenant, round: round)
    }
}

extension GroupChange: StagedChange {
    static func appendStaged(_ change: GroupChange, to buffer: inout CopyBuffer) { buffer.appendStaged(change) }
    static func appendNew(_ change: GroupChange, tenant: UUID, round: Int64?, to buffer: inout CopyBuffer) {
        buffer.appendNew(change, tenant: tenant, round: round)
    }
}

extension CopyBuffer {
    mutating func appendStaged<Change: StagedChange>(_ change: Change) { Change.appendStaged(change, to: &self) }
    mutating func appendNew<Change: StagedChange>(_ change: Change, tenant: UUID, round: Int64?) {
        Change.appendNew(change, tenant: tenant, round: round, to: &self)
    }
}

extension CopyBuffer {
    /// Appends a patch's value as a staged column: absent and null both stage NULL (the mask tells them apart).
    mutating func appendPatch(_ patch: Patch<String>) {
        if case .value(let value) = patch { append(value) } else { appendNull() }
    }

    mutating func appendPatch(_ patch: Patch<Bool>) {
        if case .value(let value) = patch { append(value) } else { appendNull() }
    }

    mutating func appendPatch(_ patch: Patch<[String]>) {
        if case .value(let value) = patch { append(value) } else { appendNull() }
    }

    /// The presence mask: bit *i* set when the *i*-th column was present (a value or null).
    static func mask(_ present: Bool...) -> Int {
        var mask = 0
        for (bit, isPresent) in present.enumerated() where isPresent { mask |= 1 << bit }
        return mask
    }

    /// Stages a user row: id, mask, then the columns of ``ObjectTable/users`` in order.
    mutating func appendStaged(_ user: UserChange) {
        append(user.id)
        append(Self.mask(
            user.userPrincipalName.isPresent, user.displayName.isPresent, user.givenName.isPresent, user.surname.isPresent,
            user.mail.isPresent, user.jobTitle.isPresent, user.department.isPresent, user.accountEnabled.isPresent,
            user.userType.isPresent, user.proxyAddresses.isPresent))
        appendColumns(user)
        endRow()
    }

    /// A new user row for ``ObjectTable/copyNew``: absent properties are NULL, as the merge would leave them.
    mutating func appendNew(_ user: UserChange, tenant: UUID, round: Int64?) {
        append(tenant)
        append(user.id)
        appendColumns(user)
        append(round.map(Int.init))
        endRow()
    }

    private mutating func appendColumns(_ user: UserChange) {
        appendPatch(user.userPrincipalName)
        appendPatch(user.displayName)
        appendPatch(user.givenName)
        appendPatch(user.surname)
        appendPatch(user.mail)
        appendPatch(user.jobTitle)
        appendPatch(user.department)
        appendPatch(user.accountEnabled)
        appendPatch(user.userType)
        appendPatch(user.proxyAddresses)
    }

    /// Stages a group row: id, mask, then the columns of ``ObjectTable/groups`` in order.
    mutating func appendStaged(_ group: GroupChange) {
        append(group.id)
        append(Self.mask(
            group.displayName.isPresent, group.description.isPresent, group.mail.isPresent, group.mailNickname.isPresent,
            group.mailEnabled.isPresent, group.securityEnabled.isPresent, group.groupTypes.isPresent))
        appendColumns(group)
        endRow()
    }

    /// A new group row for ``ObjectTable/copyNew``.
    mutating func appendNew(_ group: GroupChange, tenant: UUID, round: Int64?) {
        append(tenant)
        append(group.id)
        appendColumns(group)
        append(round.map(Int.init))
        endRow()
    }

    private mutating func appendColumns(_ group: GroupChange) {
        appendPatch(group.displayName)
        appendPatch(group.description)
        appendPatch(group.mail)
        appendPatch(group.mailNickname)
        appendPatch(group.mailEnabled)
        appendPatch(group.securityEnabled)
        appendPatch(group.groupTypes)
    }
}
