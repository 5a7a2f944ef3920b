import ArgumentParser
import DirSyncCore
import Foundation
import GraphHTTP
import Logging
import PostgresStore

extension DomainsCommand {
    /// `dirsync domains consent-url DOMAIN`: the link a customer's admin opens to grant consent.
    struct ConsentURL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "consent-url",
            abstract: "Print the admin-consent link for a domain's tenant, and the permissions the admin will be asked for.",
            discussion: """
                The link is the identity platform's v2.0 adminconsent endpoint of the configured cloud, for \
                the app in AZURE_CLIENT_ID (or the onboarded domain's client id, or --client-id). Only the \
                client id is needed, no credential. The tenant comes from --tenant-id, the onboarded domain \
                (when DATABASE_URL is set), or the domain's OpenID configuration. The state value is random; \
                Entra echoes it with admin_consent=True and tenant=<guid> on the redirect.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var graph: GraphOptions
        @OptionGroup var tenantOptions: TenantOptions

        @Argument(help: "The domain, e.g. contoso.com; it need not be onboarded yet.")
        var domain: String

        @Option(name: .long, help: "Where Entra sends the admin afterwards (https, or http for localhost). Default: the app's registered redirect URI.")
        var redirectURI: String?

        @Option(name: .long, help: "Output format: table (text) or json.")
        var format: OutputFormat = .table

        func validate() throws {
            do { _ = try DomainName.normalize(domain) } catch { throw ValidationError(error.description) }
            if let redirectURI { do { _ = try AdminConsentLink.validateRedirectURI(redirectURI) } catch { throw ValidationError(error.description) } }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let name = try DomainName.normalize(domain)
            let configuration = try global.configuration(cloud: graph.cloud)
            let record = try await DomainsCommand.onboardedRecord(name, configuration: configuration, logger: logger)
            guard let client = tenantOptions.clientID?.lowercased() ?? record?.clientID?.uuidString.lowercased() ?? configuration.clientID else {
                throw CommandFailure.configuration("AZURE_CLIENT_ID is not set: set it to the application (client) id of the dirsync app registration, or pass --client-id")
            }
            let tenant = try await DomainsCommand.tenant(of: name, flag: tenantOptions.tenant, record: record, configuration: configuration, logger: logger)
            let link = AdminConsentLink(clientID: client, tenant: tenant.id.uuidString.lowercased(), endpoints: configuration.endpoints,
                                        redirectURI: redirectURI, state: AdminConsentLink.randomState())
            switch format {
            case .table: print(Self.text(link, domain: name))
            case .json: print(try Self.json(link, domain: name))
            }
        }

        static func text(_ link: AdminConsentLink, domain: String) -> String {
            var lines = [
                "Admin consent for \(domain) (tenant \(link.tenant)); a Global Administrator or Privileged Role Administrator of the tenant opens:",
                "",
                "  \(link.url)",
                "",
                "state: \(link.state)",
                "",
                "The admin is asked to grant these Microsoft Graph application permissions (read-only):",
            ]
            let width = GraphPermission.allCases.map(\.rawValue.count).max() ?? 0
            for permission in GraphPermission.allCases {
                lines.append("  \(permission.rawValue.padding(toLength: width, withPad: " ", startingAt: 0))  to \(permission.reason)")
            }
            lines.append("")
            lines.append("Afterwards: dirsync domains check \(domain)")
            return lines.joined(separator: "\n")
        }

        static func json(_ link: AdminConsentLink, domain: String) throws -> String {
            let object: [String: Any] = [
                "domain": domain, "tenant_id": link.tenant, "client_id": link.clientID, "url": link.url, "state": link.state,
                "scope": link.scope, "redirect_uri": link.redirectURI as Any? ?? NSNull(),
                "permissions": GraphPermission.allCases.map { ["name": $0.rawValue, "id": $0.appRoleID, "reason": $0.reason] },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }
    }
}
