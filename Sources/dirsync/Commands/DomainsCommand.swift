import ArgumentParser
import DirSyncCore
import Foundation
import GraphHTTP
import Logging
import PostgresStore

/// `dirsync domains`: onboard, list and remove customer domains.
struct DomainsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domains",
        abstract: "Onboard, list and remove customer domains.",
        subcommands: [Add.self, List.self, Remove.self, ConsentURL.self, Check.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Onboard a domain. Without --tenant-id its tenant is discovered from the domain's OpenID configuration.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var graph: GraphOptions
        @OptionGroup var tenantOptions: TenantOptions

        @Argument(help: "The domain, e.g. contoso.com (lower-cased).")
        var domain: String

        func validate() throws {
            do { _ = try DomainName.normalize(domain) } catch { throw ValidationError(error.description) }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let configuration = try global.configuration(cloud: graph.cloud, clientID: tenantOptions.clientID)
            let name = try DomainName.normalize(domain)
            let clientID = tenantOptions.clientID.flatMap(UUID.init(uuidString:))
            try await configuration.withDatabase(logger: logger) { connection in
                let store = PostgresDomainStore(connection: connection)
                // A domain added again keeps its tenant unless --tenant-id says otherwise.
                let tenant = try await DomainsCommand.tenant(of: name, flag: tenantOptions.tenant, record: try await store.find(name),
                                                             configuration: configuration, logger: logger)
                do {
                    let record = try await store.add(domain: name, tenantID: tenant.id, clientID: clientID)
                    print("onboarded \(record.domain) (tenant \(record.tenantID.uuidString.lowercased())); it is checked and synced by the next dirsync run")
                } catch let refusal as PostgresDomainStore.Refusal {
                    throw CommandFailure(.usage, refusal.message)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List onboarded domains.")

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: "Output format: table or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let logger = global.makeLogger()
            let configuration = try global.configuration()
            let domains = try await configuration.withDatabase(logger: logger) { try await PostgresDomainStore(connection: $0).list() }
            switch format {
            case .table: print(DomainTable.render(domains))
            case .json: print(try DomainTable.json(domains))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop syncing a domain (it is disabled). With --purge also delete its tenant's rows, when no other domain uses that tenant.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The domain to remove.")
        var domain: String

        @Flag(name: .long, help: "Also delete the tenant's users, groups, memberships and sync state (run history stays).")
        var purge = false

        func validate() throws {
            do { _ = try DomainName.normalize(domain) } catch { throw ValidationError(error.description) }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let name = try DomainName.normalize(domain)
            let configuration = try global.configuration()
            let purge = purge
            try await configuration.withDatabase(logger: logger) { connection in
                let store = PostgresDomainStore(connection: connection)
                do {
                    if purge {
                        let rows = try await store.purge(name)
                        print("removed \(name) and deleted \(rows) directory rows of its tenant")
                    } else {
                        try await store.disable(name)
                        print("disabled \(name); its tenant's data stays (use --purge to delete it)")
                    }
                } catch let refusal as PostgresDomainStore.Refusal {
                    throw CommandFailure(.usage, refusal.message)
                }
            }
        }
    }
}

extension DomainsCommand {
    /// The tenant of `domain` for every `domains` command: `--tenant-id`, else the onboarded record,
    /// else discovered from the domain's OpenID configuration (no credential needed).
    static func tenant(of domain: String, flag: UUID?, record: DomainRecord?, configuration: Configuration,
                       logger: Logger) async throws -> (id: UUID, source: TenantSource) {
        do {
            return try await TenantResolution.resolve(domain: domain, flag: flag, record: record) { name in
                try await configuration.discoveryClient(logger: logger).discoverTenant(domain: name).tenantID
            }
        } catch let error as GraphError {
            throw CommandFailure(.failure, "cannot find the tenant of \(domain): \(error.description) Pass --tenant-id if you know it.")
        }
    }

    /// The onboarded record of `domain` when `DATABASE_URL` is set; `nil` without connecting otherwise
    /// (these commands work before a database exists).
    static func onboardedRecord(_ domain: String, configuration: Configuration, logger: Logger) async throws -> DomainRecord? {
        guard configuration.databaseURLIsSet else { return nil }
        return try await configuration.withDatabase(logger: logger) { try await PostgresDomainStore(connection: $0).find(domain) }
    }
}

/// Output formats of listing commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}
