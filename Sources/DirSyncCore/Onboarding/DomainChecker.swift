import Foundation
import Logging

/// Runs the onboarding preflight for a domain: resolves the tenant, gets a token, confirms the domain is
/// verified in the tenant and probes each permission with its cheapest request. Writes nothing.
public struct DomainChecker: Sendable {
    private let client: GraphClient
    private let tokens: any AccessTokenSource
    private let logger: Logger

    /// - Parameters:
    ///   - client: the Graph client (discovery and probes).
    ///   - tokens: the token source the client uses, asked directly to read the token's roles.
    ///   - logger: where the checks are logged (metadata only).
    public init(client: GraphClient, tokens: any AccessTokenSource, logger: Logger) {
        self.client = client
        self.tokens = tokens
        self.logger = logger
    }

    /// Checks one domain.
    /// - Parameters:
    ///   - domain: the normalised domain name.
    ///   - tenant: the tenant when known (option or onboarded record); discovered from the domain otherwise.
    ///   - clientID: the application (client) id to check.
    ///   - consentLink: builds the admin-consent URL for a tenant GUID.
    /// - Returns: the facts; judge them with ``DomainCheckReport/evaluate(_:)``.
    public func facts(domain: String, tenant: (id: UUID, source: TenantSource)?, clientID: String,
                      consentLink: (String) -> String) async -> DomainCheckFacts {
        var facts = DomainCheckFacts(domain: domain, clientID: clientID)
        if let tenant {
            (facts.tenantID, facts.tenantSource) = (tenant.id, tenant.source)
        } else {
            do {
                facts.tenantID = try await client.discoverTenant(domain: domain).tenantID
                facts.tenantSource = .discovery
            } catch {
                facts.tenantFailure = Self.oneLine(error)
                return facts
            }
        }
        guard let tenantID = facts.tenantID?.uuidString.lowercased() else { return facts }
        facts.consentURL = consentLink(tenantID)

        let key = TokenKey(tenantID: tenantID, clientID: clientID)
        do {
            facts.token = .acquired(roles: AccessTokenRoles.roles(in: try await tokens.token(for: key)))
        } catch let error as GraphError where error.code == .appNotInTenant || error.code == .adminConsentRequired {
            facts.token = .consentMissing(Self.oneLine(error))
            return facts
        } catch {
            facts.token = .failed(Self.oneLine(error))
            return facts
        }

        let graph = client.tenant(tenantID, clientID: clientID)
        do {
            facts.domainLookup = try await graph.domain(name: domain).isVerified ? .verified : .unverified
        } catch let error as GraphError where error.code == .notFound {
            facts.domainLookup = .notInTenant
        } catch let error as GraphError where error.code == .permissionMissing {
            facts.domainLookup = .denied
        } catch {
            facts.domainLookup = .failed(Self.oneLine(error))
        }

        let endpoints = client.configuration.endpoints
        var firstGroup: String?
        for permission in [GraphPermission.userReadAll, .groupReadAll, .groupMemberReadAll] {
            guard let url = PermissionProbe.url(for: permission, endpoints: endpoints, domain: domain, groupID: firstGroup) else {
                facts.probes[permission] = .notProbed(facts.probes[.groupReadAll] == .allowed ? "the tenant has no groups yet" : "no group could be listed")
                continue
            }
            do {
                let ids = try await graph.probeIDs(url: url, permission: permission)
                if permission == .groupReadAll { firstGroup = ids.first }
                facts.probes[permission] = .allowed
            } catch let error as GraphError where error.code == .permissionMissing {
                facts.probes[permission] = .denied
            } catch {
                facts.probes[permission] = .failed(Self.oneLine(error))
            }
        }
        do {
            do {
                _ = try await graph.probeIDs(url: PermissionProbe.contactsURL(endpoints: endpoints), operation: .count(.contacts))
                facts.contactsProbe = .allowed
            } catch let error as GraphError where error.code == .permissionMissing {
                facts.contactsProbe = .denied
            } catch {
                facts.contactsProbe = .failed(Self.oneLine(error))
            }
        }
        logger.info("domain checked", metadata: [
            "domain": "\(domain)", "tenant.id": "\(tenantID)",
            "probes": "\(facts.probes.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: ","))",
        ])
        return facts
    }

    private static func oneLine(_ error: any Error) -> String {
        String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
