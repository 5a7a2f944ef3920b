/// Holds back a round that would delete an implausible share of a tenant.
///
/// A broken consent, a half-finished tenant migration or a Graph incident can make a round report
/// mass deletions. By default a round may delete at most 20 % of the tenant's objects or 500
/// objects, whichever is smaller, but never fewer than 10. Above that none of the round's
/// deletions are applied, the tenant is recorded as halted with the numbers, and an operator
/// reruns with `--allow-deletes` after review.
public struct DeletionGuard: Sendable, Equatable {
    /// The guard's decision for a round.
    public struct Verdict: Sendable, Equatable {
        /// Deletions the round wants to apply.
        public var deletions: Int
        /// The most the guard allows.
        public var limit: Int
        /// Live objects of the tenant the limit was computed from.
        public var tenantObjects: Int

        public init(deletions: Int, limit: Int, tenantObjects: Int) {
            self.deletions = deletions
            self.limit = limit
            self.tenantObjects = tenantObjects
        }

        /// Operator wording with the fix.
        public var message: String {
            "halted by the deletion guard: the round would delete \(deletions) of \(tenantObjects) objects (limit \(limit)); review the change in Entra, then run dirsync run --allow-deletes"
        }
    }

    /// A fixed limit (objects per round) that replaces the percentage rule; from `--max-deletions`
    /// or the domain's `deletion_limit`.
    public var fixedLimit: Int?
    /// The percentage rule's share of the tenant (0…100).
    public var percent: Double
    /// The percentage rule's absolute cap.
    public var cap: Int
    /// The limit never goes below this.
    public var floor: Int
    /// `--allow-deletes`: apply whatever the round deletes.
    public var allowDeletes: Bool

    public init(fixedLimit: Int? = nil, percent: Double = 20, cap: Int = 500, floor: Int = 10, allowDeletes: Bool = false) {
        self.fixedLimit = fixedLimit
        self.percent = percent
        self.cap = cap
        self.floor = floor
        self.allowDeletes = allowDeletes
    }

    /// The most deletions allowed for a tenant with `tenantObjects` live objects.
    public func limit(tenantObjects: Int) -> Int {
        if let fixedLimit { return max(0, fixedLimit) }
        let share = Int((Double(tenantObjects) * percent / 100).rounded(.down))
        return max(floor, min(cap, share))
    }

    /// Decides a round: `nil` when its deletions may be applied, a verdict when they must be held back.
    public func check(deletions: Int, tenantObjects: Int) -> Verdict? {
        let limit = limit(tenantObjects: tenantObjects)
        guard !allowDeletes, deletions > limit else { return nil }
        return Verdict(deletions: deletions, limit: limit, tenantObjects: tenantObjects)
    }
}
