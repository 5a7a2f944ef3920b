import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

@Suite("dirsync status and run signals end to end", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct StatusEndToEndTests {
    private func statusJSON(_ h: SyncHarness, _ arguments: [String] = []) async throws -> [[String: Any]] {
        let outcome = try await h.dirsync(["status", "--format", "json"] + arguments)
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
    }

    private func entry(_ statuses: [[String: Any]], _ domain: String) throws -> [String: Any] {
        try #require(statuses.first { $0["domain"] as? String == domain }, "no status for \(domain)")
    }

    @Test("status walks through never_synced, succeeded, failed with the consent message, halted and disabled")
    func states() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "120", "--groups", "10", "--seed", "12"]) { h in
            let tenants = try await h.sim.tenants()
            try await h.onboard([("tenant1-verified.example", tenants[0].id), ("tenant2-verified.example", tenants[1].id)])
            var statuses = try await statusJSON(h)
            #expect(try entry(statuses, "tenant1-verified.example")["state"] as? String == "never_synced")
            #expect(try entry(statuses, "tenant1-verified.example")["last_success_at"] is NSNull)

            try await h.run()
            statuses = try await statusJSON(h)
            let synced = try entry(statuses, "tenant1-verified.example")
            #expect(synced["state"] as? String == "succeeded")
            #expect(synced["users"] as? Int == 120)
            #expect((synced["domain_users"] as? Int ?? 0) > 0)
            #expect((synced["last_run"] as? [String: Any])?["mode"] as? String == "full")
            for field in ["domain", "tenant_id", "enabled", "state", "last_success_at", "users", "groups", "memberships", "domain_users", "message", "last_run", "progress"] {
                #expect(synced.keys.contains(field), "JSON field \(field) is part of the documented contract")
            }

            // Consent withdrawn in tenant 2: the run fails and status says what to grant.
            try await h.sim.request("POST", "/_graphsim/tenants/\(tenants[1].id.uuidString.lowercased())/config", json: ["consent": false])
            try await h.run(expect: 1)
            statuses = try await statusJSON(h)
            let failed = try entry(statuses, "tenant2-verified.example")
            #expect(failed["state"] as? String == "failed")
            let message = failed["message"] as? String ?? ""
            #expect(message.contains("consent"), "\(message)")
            #expect(message.contains("GroupMember.Read.All") || message.contains("User.Read.All"))

            // A mass deletion in tenant 1 halts it.
            let users = try await h.sim.truth(tenant: tenants[0].id).users.filter { $0.deleted == nil }.map(\.id)
            try await h.sim.mutate(tenant: tenants[0].id, operations: users.prefix(40).map { ["op": "hardDeleteUser", "id": $0] })
            try await h.run(["--domain", "tenant1-verified.example"], expect: 3)
            let halted = try entry(try await statusJSON(h), "tenant1-verified.example")
            #expect(halted["state"] as? String == "halted")
            #expect((halted["message"] as? String ?? "").contains("--allow-deletes"))

            #expect(try await h.dirsync(["domains", "remove", "tenant2-verified.example"]).exitCode == 0)
            let disabled = try entry(try await statusJSON(h), "tenant2-verified.example")
            #expect(disabled["state"] as? String == "disabled")
            #expect(disabled["enabled"] as? Bool == false)

            let table = try await h.dirsync(["status"])
            #expect(table.stdout.split(separator: "\n").allSatisfy { $0.count <= 120 }, "the table must fit 120 columns:\n\(table.stdout)")
            #expect(table.stdout.contains("halted") && table.stdout.contains("disabled"))
        }
    }

    @Test("while a sync runs, status shows it running and its progress moves between two reads")
    func runningProgressMoves() async throws {
        try await SyncHarness.with(["--users", "3000", "--groups", "2", "--members-per-group", "2", "--seed", "13", "--page-size", "25",
                                    "--duplicate-rate", "0"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            // Status is read twice while graph-sim holds a users page of the run: after 4 of its 120 pages,
            // then after 65. At most two transactions' pages (2 × 16) and one more lag behind the answers, so
            // the second read finds at least 31 pages written, the first at most 4.
            try await h.sim.pause(after: 4, pathPrefix: "/v1.0/users/delta")
            let run = try h.start(["run"])
            try await h.sim.waitUntilPaused(run)
            let first = try entry(try await statusJSON(h), "tenant1-verified.example")
            try await h.sim.pause(after: 60, pathPrefix: "/v1.0/users/delta")
            try await h.sim.waitUntilPaused(run)
            let second = try entry(try await statusJSON(h), "tenant1-verified.example")
            try await h.sim.endPause()
            let outcome = try await run.finish()

            #expect(first["state"] as? String == "running", "\(first)")
            #expect(second["state"] as? String == "running", "\(second)")
            let before = (first["progress"] as? [String: Any])?["objects"] as? Int ?? 0
            let progress = try #require(second["progress"] as? [String: Any], "no progress while running: \(second)")
            let after = try #require(progress["objects"] as? Int)
            // The contacts round runs beside the users round and may have finished by then.
            let contacts = try await h.sim.truth(tenant: tenant).contacts.count
            #expect(before <= 4 * 25 + 10 + contacts, "\(first)")
            #expect(after >= 31 * 25, "\(second)")
            #expect(progress["percent"] is Double, "a full round reports percent done once Graph's count arrived: \(progress)")
            #expect(outcome.exitCode == 0, "\(outcome.stderr.suffix(1500))")
            #expect(try entry(try await statusJSON(h), "tenant1-verified.example")["state"] as? String == "succeeded")
        }
    }

    @Test("--max-age exits 0 when every enabled domain synced recently and 1 when one is stale or never synced")
    func maxAge() async throws {
        try await SyncHarness.with(["--tenants", "2", "--users", "30", "--groups", "3", "--seed", "14"]) { h in
            let tenants = try await h.sim.tenants()
            try await h.onboard([("tenant1-verified.example", tenants[0].id)])
            try await h.run()
            #expect(try await h.dirsync(["status", "--max-age", "1h"]).exitCode == 0)
            // Two hours later, as `--now` says: the success is older than one hour, younger than three.
            let synced = try #require(try entry(try await statusJSON(h), "tenant1-verified.example")["last_success_at"] as? String)
            let later = try Self.instant(synced).addingTimeInterval(2 * 3600).ISO8601Format()
            let stale = try await h.dirsync(["status", "--max-age", "1h", "--now", later])
            #expect(stale.exitCode == 1)
            #expect(stale.stderr.contains("tenant1-verified.example"))
            #expect(try await h.dirsync(["status", "--max-age", "3h", "--now", later]).exitCode == 0)
            try await h.onboard([("tenant2-verified.example", tenants[1].id)])
            let never = try await h.dirsync(["status", "--max-age", "1h"])
            #expect(never.exitCode == 1)
            #expect(never.stderr.contains("tenant2-verified.example"))
            #expect(try await h.dirsync(["status", "--max-age", "soon"]).exitCode == 2)
        }
    }

    @Test("status --format prometheus and run --metrics-file produce valid exposition text")
    func prometheusIsValid() async throws {
        try await SyncHarness.with(["--users", "40", "--groups", "4", "--seed", "15"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("dirsync-\(UUID().uuidString).prom").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            try await h.run(["--metrics-file", file])
            let fromRun = try String(contentsOfFile: file, encoding: .utf8)
            let fromStatus = try await h.dirsync(["status", "--format", "prometheus"]).stdout
            for text in [fromRun, fromStatus] {
                let problems = PrometheusText.problems(text)
                #expect(problems.isEmpty, "\(problems.prefix(5))")
                #expect(text.contains("dirsync_domain_last_success_timestamp_seconds{"))
                #expect(text.contains("dirsync_domain_state{domain=\"tenant1-verified.example\""))
                #expect(text.contains("state=\"succeeded\"} 1"))
            }
        }
    }

    @Test("SIGTERM during a sync finishes the page in hand, records the run as interrupted, and the next run completes")
    func sigtermInterruptsCleanly() async throws {
        try await SyncHarness.with(["--users", "2500", "--groups", "20", "--seed", "16", "--page-size", "25"]) { h in
            let tenant = try await h.sim.tenants()[0].id
            try await h.onboard([("tenant1-verified.example", tenant)])
            // graph-sim answers three users pages and holds the fourth; the signal comes once the three are
            // written (the run logs each transaction), so it lands mid-round with the next page outstanding.
            try await h.sim.pause(after: 3, pathPrefix: "/v1.0/users/delta")
            let run = try h.start(["run", "--log-level", "debug"])
            _ = try await run.process.errorLine("the users round to write three pages") { line in
                line.contains("\"msg\":\"pages applied\"") && line.contains("\"resource\":\"users\"") && line.contains("\"pages\":\"3\"")
            }
            run.process.send(SIGTERM)
            // It stops without waiting for the page graph-sim still holds: the pause only ends after it exited.
            let outcome = try await run.finish()
            try await h.sim.endPause()
            #expect(outcome.exitCode == 1, "\(outcome.stderr.suffix(1500))")
            #expect(try await h.scalar("SELECT count(*)::int AS n FROM directory.sync_runs WHERE state = 'interrupted' AND finished_at IS NOT NULL") == 1)
            let cursor = try await h.connection.query("SELECT next_link, round_pages FROM directory.sync_cursors WHERE resource = 'users'").first
            #expect(try cursor?.optionalString("next_link") != nil, "the interrupted round keeps its resume point")
            #expect(try cursor?.int("round_pages") == 3)
            try await h.run()
            try await h.expectTablesEqualTruth([tenant], "after the run that followed SIGTERM")
        }
    }

    /// An ISO 8601 instant as `status --format json` writes it.
    private static func instant(_ text: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return try #require(formatter.date(from: text), "not an ISO 8601 instant: \(text)")
    }
}

/// A strict check of the Prometheus text exposition format (version 0.0.4) as node_exporter reads it.
enum PrometheusText {
    static func problems(_ text: String) -> [String] {
        var problems: [String] = []
        var typed: [String: String] = [:]
        let name = "[a-zA-Z_:][a-zA-Z0-9_:]*"
        let label = "[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\""
        let sample = try! Regex("^(\(name))(\\{(\(label))(,\(label))*\\})? (-?[0-9.]+(e[+-]?[0-9]+)?|NaN|\\+Inf|-Inf)( -?[0-9]+)?$")
        let help = try! Regex("^# HELP (\(name)) .*$")
        let type = try! Regex("^# TYPE (\(name)) (counter|gauge|histogram|summary|untyped)$")
        guard text.isEmpty || text.hasSuffix("\n") else { return ["the text must end with a newline"] }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let line = String(line)
            if line.isEmpty { continue }
            if line.hasPrefix("# HELP") {
                if line.wholeMatch(of: help) == nil { problems.append("bad HELP line: \(line)") }
            } else if line.hasPrefix("# TYPE") {
                guard let match = line.wholeMatch(of: type), let metric = match.output[1].substring else { problems.append("bad TYPE line: \(line)"); continue }
                if typed[String(metric)] != nil { problems.append("metric typed twice: \(metric)") }
                typed[String(metric)] = String(line.split(separator: " ").last!)
            } else if line.hasPrefix("#") {
                continue
            } else if let match = line.wholeMatch(of: sample), let metric = match.output[1].substring {
                if typed[String(metric)] == nil { problems.append("sample before its TYPE: \(line)") }
            } else {
                problems.append("bad sample line: \(line)")
            }
        }
        return problems
    }
}
