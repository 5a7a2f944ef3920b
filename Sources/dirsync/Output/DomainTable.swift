import DirSyncCore
import Foundation

/// Renders `dirsync domains list`.
enum DomainTable {
    static func render(_ domains: [DomainRecord]) -> String {
        guard !domains.isEmpty else { return "no domains onboarded; add one with dirsync domains add DOMAIN" }
        var table = TextTable(columns: ["DOMAIN", "TENANT", "ENABLED", "VERIFIED", "ONBOARDED", "PROBLEM"])
        for domain in domains {
            table.add([
                domain.domain, domain.tenantID.uuidString.lowercased(), domain.enabled ? "yes" : "no",
                domain.verifiedAt.map { $0.formatted(.iso8601.year().month().day()) } ?? "not yet",
                domain.onboardedAt.formatted(.iso8601.year().month().day()), domain.problem ?? "",
            ])
        }
        return table.render()
    }

    static func json(_ domains: [DomainRecord]) throws -> String {
        let items: [[String: Any]] = domains.map { domain in
            [
                "domain": domain.domain, "tenant_id": domain.tenantID.uuidString.lowercased(), "enabled": domain.enabled,
                "onboarded_at": domain.onboardedAt.formatted(.iso8601), "client_id": domain.clientID.map { $0.uuidString.lowercased() } as Any? ?? NSNull(),
                "verified_at": domain.verifiedAt.map { $0.formatted(.iso8601) } as Any? ?? NSNull(), "problem": domain.problem as Any? ?? NSNull(),
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// A plain left-aligned text table; cells wider than `maxWidth` are cut with an ellipsis.
struct TextTable {
    let columns: [String]
    var rows: [[String]] = []
    var maxWidth = 48

    init(columns: [String]) { self.columns = columns }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        let cells = ([columns] + rows).map { row in row.map { $0.count > maxWidth ? String($0.prefix(maxWidth - 1)) + "…" : $0 } }
        let widths = columns.indices.map { index in cells.map { $0[index].count }.max() ?? 0 }
        return cells.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
