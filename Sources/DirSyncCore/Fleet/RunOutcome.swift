/// How a whole `dirsync run` ended, from its tenants' results: the policy behind its exit code.
public enum RunOutcome: Sendable, Equatable {
    /// Every tenant succeeded, or was skipped because another run holds it.
    case succeeded
    /// A tenant failed or was interrupted, or one of its domains is not verified (exit 1).
    case failed
    /// Nothing failed, but the deletion guard halted a tenant (exit 3).
    case halted

    /// Failures outrank halts: an operator must look at a failure first, and a halt is reported with it.
    public init(_ results: [TenantSyncResult]) {
        if results.contains(where: Self.isFailure) {
            self = .failed
        } else if results.contains(where: { $0.state == .halted }) {
            self = .halted
        } else {
            self = .succeeded
        }
    }

    /// One line saying what went wrong across the fleet, for stderr; `nil` when the run succeeded.
    public static func headline(_ results: [TenantSyncResult]) -> String? {
        let failed = results.filter(isFailure).count
        let halted = results.filter { $0.state == .halted }.count
        var parts: [String] = []
        if failed > 0 { parts.append("\(failed) of \(results.count) tenants failed") }
        if halted > 0 { parts.append("\(halted) of \(results.count) tenants halted by the deletion guard (review, then run with --allow-deletes)") }
        guard !parts.isEmpty else { return nil }
        return parts.joined(separator: "; ") + "; see the table above and dirsync status"
    }

    private static func isFailure(_ result: TenantSyncResult) -> Bool {
        result.state == .failed || result.state == .interrupted || !result.unverifiedDomains.isEmpty
    }
}
