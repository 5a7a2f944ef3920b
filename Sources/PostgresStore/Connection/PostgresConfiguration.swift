import Foundation

/// Where to connect: `DATABASE_URL` as given, or libpq's own `PG*` variables and defaults.
public struct PostgresConfiguration: Sendable {
    /// A `postgresql://` URI or a `key=value` connection string; `nil` lets libpq use `PGHOST`,
    /// `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`, `~/.pgpass` and its defaults.
    public var connectionString: String?
    /// Keywords applied after the connection string, e.g. `["dbname": "other"]` in tests.
    public var overrides: [(keyword: String, value: String)]
    /// Seconds libpq waits for a connection when the string does not say (`connect_timeout`).
    public var defaultConnectTimeout: Int

    public init(connectionString: String?, overrides: [(keyword: String, value: String)] = [], defaultConnectTimeout: Int = 10) {
        self.connectionString = connectionString
        self.overrides = overrides
        self.defaultConnectTimeout = defaultConnectTimeout
    }

    /// The same configuration pointing at another database on the same server.
    public func database(_ name: String) -> PostgresConfiguration {
        var copy = self
        copy.overrides.removeAll { $0.keyword == "dbname" }
        copy.overrides.append((keyword: "dbname", value: name))
        return copy
    }

    /// Ordered keyword/value pairs for `PQconnectdbParams` with `expand_dbname = 1`: defaults first,
    /// then the expanded connection string (which overrides them), then explicit overrides.
    var parameters: [(String, String)] {
        var result: [(String, String)] = [
            ("connect_timeout", String(defaultConnectTimeout)),
            ("fallback_application_name", "dirsync"),
        ]
        if let connectionString, !connectionString.isEmpty { result.append(("dbname", connectionString)) }
        result += overrides.map { ($0.keyword, $0.value) }
        return result
    }

    /// The password written in the connection string, if any, so messages can be scrubbed of it.
    var passwordInConnectionString: String? {
        guard let text = connectionString else { return nil }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            let afterScheme = text[text.range(of: "://")!.upperBound...]
            guard let at = afterScheme.lastIndex(of: "@") else { return nil }
            let userInfo = afterScheme[..<at]
            guard let colon = userInfo.firstIndex(of: ":") else { return nil }
            let password = String(userInfo[userInfo.index(after: colon)...])
            return password.isEmpty ? nil : password
        }
        // key=value form: password=secret or password='se cret'
        guard let range = text.range(of: "password") else { return nil }
        var rest = text[range.upperBound...].drop { $0 == " " }
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " }
        if rest.first == "'" {
            return String(rest.dropFirst().prefix { $0 != "'" })
        }
        let password = String(rest.prefix { $0 != " " })
        return password.isEmpty ? nil : password
    }
}
