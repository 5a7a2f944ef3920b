import ArgumentParser
import DirSyncCore
import Foundation
import GraphHTTP
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

        @Argument(help: "The domain, e.g. contoso.com (lower-cased).")
        var domain: String

        @Option(name: .long, help: "The Entra tenant id (GUID). Discovered from the domain when omitted.")
        var tenantID: String?

        @Option(name: .long, help: "The app registration (client id GUID) to use for this domain's tenant, if not AZURE_CLIENT_ID.")
        var clientID: String?

        func validate() throws {
            if let tenantID, UUID(uuidString: tenantID) == nil { throw ValidationError("--tenant-id '\(tenantID)' is not a GUID (like 72f988bf-86f1-41af-91ab-2d7cd011db47)") }
            if let clientID, UUID(uuidString: clientID) == nil { throw ValidationError("--client-id '\(clientID)' is not a GUID (like 11111111-2222-3333-4444-555555555555)") }
            do { _ = try DomainName.normalize(domain) } catch { throw ValidationError(error.description) }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let name = try DomainName.normalize(domain)
            let tenant: UUID
            if let tenantID, let id = UUID(uuidString: tenantID) {
                tenant = id
            } else {
                let runtime = try graph.runtime(logger: logger)
                do {
                    tenant = try await runtime.client.discoverTenant(domain: name).tenantID
                } catch let error as GraphError {
                    throw CommandFailure(.failure, "cannot find the tenant of \(name): \(error.description); pass --tenant-id if you know it")
                }
            }
            let connection = try await Database.connect(logger: logger)
            defer { Task { await connection.close() } }
            do {
                let record = try await PostgresDomainStore(connection: connection).add(domain: name, tenantID: tenant, clientID: clientID.flatMap(UUID.init(uuidString:)))
                print("onboarded \(record.domain) (tenant \(record.tenantID.uuidString.lowercased())); it is checked and synced by the next dirsync run")
            } catch let refusal as PostgresDomainStore.Refusal {
                throw CommandFailure(.usage, refusal.message)
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
            let connection = try await Database.connect(logger: logger)
            defer { Task { await connection.close() } }
            let domains = try await PostgresDomainStore(connection: connection).list()
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
            let connection = try await Database.connect(logger: logger)
            defer { Task { await connection.close() } }
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

/// Output formats of listing commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}
