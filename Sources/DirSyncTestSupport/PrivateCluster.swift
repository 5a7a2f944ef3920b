import DirSyncMigrations
import Foundation
import PostgresStore

/// A PostgreSQL cluster of one test's own, for faults that would disturb other tests on the shared
/// cluster (`pg_ctl restart`, stop). Run as the `postgres` user when the tests run as root (initdb
/// refuses root), as `scripts/lib/common.sh` does.
package final class PrivateCluster: Sendable {
    package let directory: String
    package let port: Int
    private let bin: String

    package struct Failed: Error, CustomStringConvertible {
        package var description: String
    }

    /// A `DATABASE_URL` for the cluster's `postgres` database over loopback TCP.
    package var connectionString: String { "host=127.0.0.1 port=\(port) user=postgres dbname=postgres connect_timeout=5" }

    private init(directory: String, port: Int, bin: String) {
        self.directory = directory
        self.port = port
        self.bin = bin
    }

    /// Creates and starts a cluster, or throws when the PostgreSQL server binaries are not installed.
    package static func start() async throws -> PrivateCluster {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending }).last,
              FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb")
        else { throw Failed(description: "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin") }
        let bin = "/usr/lib/postgresql/\(version)/bin"
        let directory = "/tmp/dirsync-private-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/socket", withIntermediateDirectories: true)
        let port = try freePort()
        let cluster = PrivateCluster(directory: directory, port: port, bin: bin)
        try await cluster.shell("chmod 755 '\(directory)'; if [ $(id -u) -eq 0 ]; then chown -R postgres:postgres '\(directory)'; fi", asOwner: false)
        try await cluster.shell("'\(bin)/initdb' -D '\(directory)/data' -U postgres --auth-local=trust --auth-host=trust -E UTF8 --no-locale >'\(directory)/initdb.log' 2>&1")
        try await cluster.startServer()
        return cluster
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    package func startServer() async throws {
        try await shell("'\(bin)/pg_ctl' -D '\(directory)/data' -l '\(directory)/server.log' -w -t 60 -o \"-p \(port) -k \(directory)/socket -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null")
    }

    /// `pg_ctl restart -m fast`: every session is terminated, then the server comes back.
    package func restart() async throws {
        try await shell("'\(bin)/pg_ctl' -D '\(directory)/data' -l '\(directory)/server.log' -w -t 60 -m fast -o \"-p \(port) -k \(directory)/socket -c listen_addresses=127.0.0.1 -c fsync=off\" restart >/dev/null")
    }

    /// Stops the server (immediate), leaving the data directory for `startServer`.
    package func stopServer() async throws {
        try await shell("'\(bin)/pg_ctl' -D '\(directory)/data' -m immediate -w stop >/dev/null 2>&1")
    }

    /// Stops the server and removes the cluster.
    package func destroy() async {
        try? await stopServer()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The cluster's `postgres` database, migrated, as a ``TestDatabase`` for harnesses.
    package func migratedDatabase() async throws -> TestDatabase {
        let configuration = PostgresConfiguration(connectionString: connectionString)
        let database = TestDatabase(name: "postgres", configuration: configuration, connectionString: connectionString)
        let connection = try await database.connect()
        try await Migrator(connection: connection, migrations: try EmbeddedMigrations.all(), logger: TestEnvironment.quietLogger).migrate()
        await connection.close()
        return database
    }

    /// Runs `command` with bash (as the cluster owner when root) and waits for it. Spawned and reaped here
    /// with posix_spawn/waitpid: pg_ctl leaves a server behind that keeps inherited descriptors open.
    private func shell(_ command: String, asOwner: Bool = true) async throws {
        let arguments = asOwner && getuid() == 0 ? ["/bin/bash", "-c", "su postgres -s /bin/bash -c \(Self.quote(command)) </dev/null >/dev/null 2>&1"]
            : ["/bin/bash", "-c", "(\(command)) </dev/null >/dev/null 2>&1"]
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // Started with no signal blocked, as from a shell (the cooperative pool's threads block most).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let spawned = posix_spawn(&pid, "/bin/bash", nil, &attributes, argv, environ)
        guard spawned == 0 else { throw Failed(description: "cannot run \(command): posix_spawn failed (\(spawned))") }
        let status = try await Self.exitStatus(of: pid, command)
        let exited = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exited == 0 else {
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            throw Failed(description: "\(command) exited \(exited); server log tail: \(log.suffix(800))")
        }
    }

    /// Waits for `pid` to exit: `waitpid` blocks a thread of its own, never the cooperative pool.
    private static func exitStatus(of pid: pid_t, _ command: String) async throws -> Int32 {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            Thread {
                var status: Int32 = 0
                while true {
                    let reaped = waitpid(pid, &status, 0)
                    if reaped == pid { return continuation.resume(returning: status) }
                    if reaped < 0, errno != EINTR { return continuation.resume(throwing: Failed(description: "lost track of \(command)")) }
                }
            }.start()
        }
    }

    private static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failed(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
