import DirSyncTestSupport
import Foundation

/// The reliability suites (fault matrix, crash consistency, concurrency, secrets, hostile objects) start
/// many simulators, databases and syncs. `scripts/test` runs them in a pass of their own after the main
/// suite, with `DIRSYNC_RELIABILITY_TESTS=1`, so their load cannot starve the main suite's
/// timing-sensitive tests (3-second token lifetimes) on a 2-core machine.
enum ReliabilityPass {
    static var enabled: Bool {
        TestEnvironment.databaseTestsEnabled && ProcessInfo.processInfo.environment["DIRSYNC_RELIABILITY_TESTS"] == "1"
    }
}
