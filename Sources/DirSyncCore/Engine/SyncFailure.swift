import Foundation

/// Why a tenant's sync did not complete, in classes that status, metrics and exit codes use.
public struct SyncFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure; stored in `sync_runs.error_class`.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Admin consent was never granted, or the app is not in the tenant.
        case consentMissing = "consent_missing"
        /// Graph refused a request for lack of an application permission.
        case permissionMissing = "permission_missing"
        /// The credential was refused (bad or expired secret, certificate, federated credential).
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
            case .appNotInTenant, .adminConsentRequired: kind = .consentMissing
            case .permissionMissing: kind = .permissionMissing
            case .unauthorized, .invalidClientSecret, .expiredClientSecret, .invalidCertificate, .federatedCredentialMismatch,
                 .credentialNotSent, .appDisabled, .conditionalAccess:
                kind = .unauthorized
            case .throttled, .throttledBeyondDeadline: kind = .throttled
            case .transport, .serverError: kind = .transport
            case .malformedResponse, .linkLoop, .foreignLink, .unexpectedStatus, .badRequest, .notFound, .resyncRequired: kind = .graphProtocol
            case .configuration, .unknownTenant, .unknownDomain, .invalidScope, .unknownProperty: kind = .configuration
            default: kind = .other
            }
            return SyncFailure(kind: kind, message: graph.description)
        }
        if let transport = error as? TransportError { return SyncFailure(kind: .transport, message: transport.description) }
        if let convertible = error as? any SyncFailureConvertible { return convertible.syncFailure }
        return SyncFailure(kind: .other, message: String(describing: error))
    }
}

/// An adapter error that knows its ``SyncFailure`` class (the database adapter's errors, for example).
public protocol SyncFailureConvertible: Error {
    var syncFailure: SyncFailure { get }
}
