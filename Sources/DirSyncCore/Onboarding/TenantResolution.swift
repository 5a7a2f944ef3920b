import Foundation

/// Where a domain's tenant comes from, in the one order every `domains` command uses: the
/// `--tenant-id` flag, else the onboarded record, else discovery from the domain's OpenID
/// configuration.
public enum TenantResolution {
    /// The tenant of `domain`.
    /// - Parameters:
    ///   - flag: the `--tenant-id` value, if given.
    ///   - record: the domain's onboarded record, if any.
    ///   - discover: finds the tenant behind the domain (called only when the others say nothing).
    /// - Returns: the tenant and where it came from.
    /// - Throws: what `discover` throws.
    public static func resolve(domain: String, flag: UUID?, record: DomainRecord?,
                               discover: (String) async throws -> UUID) async throws -> (id: UUID, source: TenantSource) {
        if let flag { return (flag, .option) }
        if let record { return (record.tenantID, .onboarded) }
        return (try await discover(domain), .discovery)
    }

    /// The tenant when it is known without asking the identity platform: the flag, else the record.
    public static func known(flag: UUID?, record: DomainRecord?) -> (id: UUID, source: TenantSource)? {
        if let flag { return (flag, .option) }
        if let record { return (record.tenantID, .onboarded) }
        return nil
    }
}
