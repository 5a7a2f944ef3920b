import Foundation

/// Why a tenant's sync did not complete, in classes that status, metrics and exit codes use.
public struct SyncFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure; stored in `sync_runs.error_class`.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The tenant granted the app no application permissions: consent was revoked, or never given.
        case consentMissing = "consent_missing"
        /// The app has no service principal in the tenant: deleted there, or never consented.
        case appMissing = "app_missing"
        /// The app's service principal is disabled in the tenant.
        case appDisabled = "app_disabled"
        /// Graph refused a request for lack of one application permission (others are granted).
        case permissionMissing = "permission_missing"
        /// The credential has expired (client secret, certificate, federated token).
        case credentialExpired = "credential_expired"
        /// The credential was refused: a wrong or deleted secret, an unregistered certificate, no matching
        /// federated credential.
        case credentialInvalid = "credential_invalid"
        /// Graph or the identity platform refused the token itself (401 after a renewal, Conditional Access).
        case unauthorized
        /// Graph kept throttling beyond the run's deadline.
        case throttled
        /// The domain is not a verified domain of the tenant.
        case domainNotVerified = "domain_not_verified"
        /// The network or Graph failed after all retries.
        case transport
        /// Graph sent something dirsync cannot use (malformed page, link loop, foreign link).
        case graphProtocol = "graph_protocol"
        /// PostgreSQL failed.
        case database
        /// The run was stopped (SIGTERM/SIGINT) after its last committed page.
        case interrupted
        /// The deletion guard held back the round's deletions.
        case halted
        /// Configuration is wrong (cloud, tenant id, credential files).
        case configuration
        /// Anything else.
        case other
    }

    public var kind: Kind
    /// One line for operators, naming the fix. Never contains a secret or token.
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Classifies any error thrown while syncing a tenant.
    public static func classify(_ error: any Error) -> SyncFailure {
        if let failure = error as? SyncFailure { return failure }
        if error is CancellationError {
            return SyncFailure(kind: .interrupted, message: "interrupted; the next run resumes from the last committed page")
        }
        if let graph = error as? GraphError {
            let kind: Kind
            switch graph.code {
            case .adminConsentRequired: kind = .consentMissing
            case .appNotInTenant: kind = .appMissing
            case .appDisabled: kind = .appDisabled
            case .permissionMissing: kind = graph.tokenRoles?.isEmpty == true ? .consentMissing : .permissionMissing
            case .expiredClientSecret, .expiredCertificate, .expiredFederatedToken: kind = .credentialExpired
            case .invalidClientSecret, .invalidCertificate, .federatedCredentialMismatch, .credentialNotSent: kind = .credentialInvalid
            case .unauthorized, .conditionalAccess: kind = .unauthorized
            case .throttled, .throttledBeyondDeadline: kind = .throttled
            case .transport, .serverError:
                // An outage, not a fault of the tenant or of dirsync: say so, and that nothing is lost.
                let retries = max(0, (graph.attempts ?? 1) - 1)
                return SyncFailure(kind: .transport, message: "Graph unavailable, retried \(retries) time\(retries == 1 ? "" : "s"); nothing lost; next run resumes. \(graph.description)")
            case .malformedResponse, .linkLoop, .foreignLink, .unexpectedStatus, .badRequest, .notFound, .resyncRequired: kind = .graphProtocol
            case .configuration, .unknownTenant, .unknownDomain, .invalidScope, .unknownProperty: kind = .configuration
            default: kind = .other
            }
            return SyncFailure(kind: kind, message: graph.description)
        }
        if let transport = error as? TransportError {
            return SyncFailure(kind: .transport, message: "Graph unavailable; nothing lost; next run resumes. \(transport.description)")
        }
        if let convertible = error as? any SyncFailureConvertible { return convertible.syncFailure }
        return SyncFailure(kind: .other, message: String(describing: error))
    }
}

/// An adapter error that knows its ``SyncFailure`` class (the database adapter's errors, for example).
public protocol SyncFailureConvertible: Error {
    var syncFailure: SyncFailure { get }
}
