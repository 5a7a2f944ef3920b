import ArgumentParser
import DirSyncCore
import Foundation
import PostgresStore

/// `dirsync resolve ADDRESS`: who owns an email address, and every group it belongs to.
struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Show who owns an email address (user, group or contact), whether it is internal, and all its groups, nested ones too.",
        discussion: """
            The same answer services get from the SQL function directory.resolve, with group names. The \
            address may carry an smtp: prefix or <…> brackets, in any case. Exit codes: 0 found, 1 nobody \
            owns the address, 2 usage or configuration error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The email address, e.g. alice.smith@contoso.com.")
    var address: String

    @Option(name: .long, help: "Only owners in this tenant (GUID).")
    var tenant: String?

    @Option(name: .long, help: "Output format: table or json.")
    var format: OutputFormat = .table

    func validate() throws {
        if let tenant, UUID(uuidString: tenant) == nil { throw ValidationError("--tenant '\(tenant)' is not a GUID (like 72f988bf-86f1-41af-91ab-2d7cd011db47)") }
        guard address.contains("@"), address.trimmingCharacters(in: .whitespaces).count > 2 else {
            throw ValidationError("'\(address)' is not an email address (like alice@contoso.com)")
        }
    }

    func run() async throws {
        let logger = global.makeLogger()
        let configuration = try global.configuration()
        let tenantID = tenant.flatMap(UUID.init(uuidString:))
        let address = address
        let owners = try await configuration.withDatabase(logger: logger) { try await PostgresReadAPI(connection: $0).resolve(address, tenant: tenantID) }
        switch format {
        case .table: print(Self.text(owners, address: address))
        case .json: print(try Self.json(owners))
        }
        if owners.isEmpty { throw CommandFailure(.failure, "no live user, group or contact owns \(address)") }
    }

    static func text(_ owners: [AddressOwner], address: String) -> String {
        guard !owners.isEmpty else { return "\(address): nobody" }
        var lines: [String] = []
        for owner in owners {
            if !lines.isEmpty { lines.append("") }
            lines.append("\(address): \(owner.displayName ?? "(no name)") — \(owner.kind), \(owner.isInternal ? "internal" : "external") address")
            lines.append("  tenant  \(owner.tenantID.uuidString.lowercased())")
            lines.append("  \(owner.objectType.padding(toLength: 6, withPad: " ", startingAt: 0))  \(owner.objectID.uuidString.lowercased())")
            lines.append("  groups  \(owner.groups.count)" + (owner.groups.isEmpty ? "" : ":"))
            for group in owner.groups.sorted(by: { ($0.depth, $0.displayName ?? "") < ($1.depth, $1.displayName ?? "") }) {
                let via = group.depth == 1 ? "direct" : "nested, \(group.depth) levels"
                lines.append("    \(group.displayName ?? "(no name)")  \(group.id.uuidString.lowercased())  (\(via))")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ owners: [AddressOwner]) throws -> String {
        let items: [[String: Any]] = owners.map { owner in
            [
                "tenant_id": owner.tenantID.uuidString.lowercased(), "object_id": owner.objectID.uuidString.lowercased(),
                "object_type": owner.objectType, "display_name": owner.displayName as Any? ?? NSNull(),
                "account_enabled": owner.accountEnabled as Any? ?? NSNull(), "user_type": owner.userType as Any? ?? NSNull(),
                "internal": owner.isInternal,
                "groups": owner.groups.map { ["id": $0.id.uuidString.lowercased(), "display_name": $0.displayName as Any? ?? NSNull(), "depth": $0.depth] },
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
