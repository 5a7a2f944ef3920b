import ArgumentParser
import DirSyncCore
import Foundation
import Logging
import PostgresStore

/// `dirsync changes`: the change feed as JSON lines, and its retention.
struct ChangesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "changes",
        abstract: "Print the change feed (every committed change, once, in order) as JSON lines, or prune old events.",
        subcommands: [Read.self, Prune.self],
        defaultSubcommand: Read.self
    )

    /// `dirsync changes [--since SEQ] …`.
    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "read",
            abstract: "Print events after a cursor as JSON lines (seq, tenant_id, run_id, committed_at, entity, op, object_id, group_id, member_type, changes).",
            discussion: """
                Store the last seq you processed and pass it as --since next time: you get every later event \
                once, in order. --follow keeps printing as runs commit events (woken by PostgreSQL's NOTIFY) \
                until SIGTERM or SIGINT. The cursor to resume from is the last line on stderr and, with \
                --cursor-file, written to that file atomically after each batch. A cursor older than what \
                'dirsync changes prune' kept is refused (exit 1): re-read the tables, then continue from \
                --latest. Exit codes: 0 done, 1 failure or expired cursor, 2 usage.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: "Print events after this seq (0: from the beginning). Default: the cursor file's, else 0.")
        var since: Int64?

        @Option(name: .customLong("tenant"), help: "Only this tenant's events (repeatable).")
        var tenants: [String] = []

        @Option(name: .long, help: "Stop after this many events.")
        var limit: Int?

        @Flag(name: .long, help: "Keep waiting for new events until SIGTERM or SIGINT.")
        var follow = false

        @Option(name: .long, help: "Read the starting cursor from this file (when --since is not given) and write the cursor there after each batch.")
        var cursorFile: String?

        @Flag(name: .long, help: "Print only the current cursor (the newest event's seq) and exit.")
        var latest = false

        func validate() throws {
            if let since, since < 0 { throw ValidationError("--since must be 0 or more, not \(since)") }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, not \(limit)") }
            for tenant in tenants where UUID(uuidString: tenant) == nil { throw ValidationError("--tenant '\(tenant)' is not a GUID") }
            if latest, follow { throw ValidationError("--latest prints the cursor and exits; it cannot be combined with --follow") }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let configuration = try global.configuration()
            let filter = Set(tenants.compactMap(UUID.init(uuidString:)))
            let start = try since ?? CursorFile.read(cursorFile) ?? 0
            let (limit, follow, cursorFile, latest) = (limit, follow, cursorFile, latest)
            let work = Task {
                try await configuration.withDatabase(logger: logger) { connection in
                    let feed = PostgresChangeFeed(connection: connection)
                    if latest {
                        print(try await feed.latest())
                        return start
                    }
                    return try await Self.stream(feed, from: start, tenants: filter, limit: limit, follow: follow, cursorFile: cursorFile)
                }
            }
            ShutdownSignals.install(announce: false) { _ in work.cancel() }
            let cursor: Int64
            do {
                cursor = try await work.value
            } catch let expired as PostgresChangeFeed.ExpiredCursor {
                throw CommandFailure(.failure, expired.message)
            }
            if !latest { FileHandle.standardError.write(Data("dirsync: cursor \(cursor) (continue with --since \(cursor))\n".utf8)) }
        }

        /// Prints batches until caught up (or, following, until cancelled); returns the cursor reached.
        static func stream(_ feed: PostgresChangeFeed, from start: Int64, tenants: Set<UUID>, limit: Int?, follow: Bool,
                           cursorFile: String?) async throws -> Int64 {
            var cursor = start
            var printed = 0
            let output = FileHandle.standardOutput
            // Listen before reading, so no wake-up between the last read and the wait is lost.
            if follow { try await feed.listen() }
            while !Task.isCancelled {
                let batch = try await feed.read(after: cursor, limit: 10_000, tenants: tenants)
                var lines = batch.lines
                if let limit, printed + lines.count >= limit {
                    lines = Array(lines.prefix(limit - printed))
                }
                if !lines.isEmpty {
                    output.write(Data((lines.joined(separator: "\n") + "\n").utf8))
                    printed += lines.count
                }
                if let limit, printed >= limit {
                    // The cursor is the seq of the last event printed.
                    if let last = lines.last, let seq = Self.seq(ofLine: last) { cursor = seq }
                    try CursorFile.write(cursor, to: cursorFile)
                    return cursor
                }
                if let last = batch.lastSeq {
                    cursor = last
                    try CursorFile.write(cursor, to: cursorFile)
                }
                if batch.read < 10_000 {
                    guard follow else { return cursor }
                    // Caught up: wait for a run to commit (a periodic look-in covers a missed wake-up).
                    while !Task.isCancelled, try await feed.wait(timeout: 0.5).isEmpty {
                        if try await feed.latest() > cursor { break }
                    }
                }
            }
            return cursor
        }

        private static func seq(ofLine line: String) -> Int64? {
            guard let range = line.range(of: "\"seq\":") else { return nil }
            return Int64(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// `dirsync changes prune --older-than DURATION`.
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Delete change events older than a duration, in bounded batches; cursors before them then expire.",
            discussion: "Run it daily from cron or a CronJob, keeping more history than your slowest consumer can fall behind (e.g. --older-than 14d)."
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: "Delete events committed longer ago than this (e.g. 14d, 36h).")
        var olderThan: String

        func validate() throws {
            do { _ = try StatusDuration.parse(olderThan) } catch { throw ValidationError("--older-than \(error.description)") }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let configuration = try global.configuration()
            let cutoff = configuration.time.now().addingTimeInterval(-(try StatusDuration.parse(olderThan)))
            let (deleted, through) = try await configuration.withDatabase(logger: logger) { try await PostgresChangeFeed(connection: $0).prune(before: cutoff) }
            print("pruned \(deleted) change events committed before \(cutoff.formatted(.iso8601)); the feed now starts after seq \(through) (older cursors expire)")
        }
    }
}

/// The `--cursor-file`: one number, written atomically (temporary file, then rename).
enum CursorFile {
    static func read(_ path: String?) throws -> Int64? {
        guard let path, FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = Int64(text), value >= 0 else {
            throw CommandFailure(.usage, "the cursor file \(path) does not hold a cursor (a number): fix or remove it")
        }
        return value
    }

    static func write(_ cursor: Int64, to path: String?) throws {
        guard let path else { return }
        let temporary = path + ".tmp-\(getpid())"
        do {
            try Data("\(cursor)\n".utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                throw CommandFailure(.failure, "cannot move the cursor file into place at \(path): \(String(cString: strerror(errno)))")
            }
        } catch let failure as CommandFailure {
            try? FileManager.default.removeItem(atPath: temporary)
            throw failure
        } catch {
            throw CommandFailure(.failure, "cannot write the cursor file \(path): \(error.localizedDescription); check that its directory exists and is writable")
        }
    }
}
