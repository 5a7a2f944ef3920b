import DirSyncCore
import DirSyncTestSupport
import Foundation
import Testing

// Checks the monitoring kit (jobs/monitoring/): the alert rules in both forms, the Grafana dashboard
// and their README. Neither Prometheus nor Grafana is available to the tests, so the promises are
// asserted on the files: both rule files carry the same rules, every metric a rule or a panel queries
// is one dirsync writes (first against StatusRenderer's source, then against the real output of the
// built binary), and each check is shown to fail when a metric is renamed.

@Suite("Monitoring kit")
struct MonitoringKitTests {
    @Test("the rules file, the PrometheusRule and the dashboard parse, and every alert has a severity, a summary and a description naming its first step")
    func parsesAndDescribes() throws {
        let kit = try MonitoringKit.load()
        #expect(kit.rules.count >= 9, "\(kit.rules.map(\.alert))")
        #expect(Set(kit.rules.map(\.alert)).count == kit.rules.count, "alert names must be unique")
        #expect(kit.ruleResource["apiVersion"]?.string == "monitoring.coreos.com/v1")
        #expect(kit.ruleResource["kind"]?.string == "PrometheusRule")
        #expect(kit.ruleResource[["metadata", "name"]]?.string != nil)
        for rule in kit.rules {
            let problems = MonitoringChecks.description(rule)
            #expect(problems.isEmpty, "\(rule.alert): \(problems)")
        }
        #expect(!kit.dashboardQueries.isEmpty)
    }

    @Test("a rule without severity, summary or a first step in its description fails the description check")
    func descriptionCheckCatchesRemovals() throws {
        let rule = try #require(try MonitoringKit.load().rules.first)
        var noSeverity = rule
        noSeverity.labels["severity"] = nil
        var noSummary = rule
        noSummary.annotations["summary"] = nil
        var noFirstStep = rule
        noFirstStep.annotations["description"] = "Something is wrong."
        for broken in [noSeverity, noSummary, noFirstStep] {
            #expect(!MonitoringChecks.description(broken).isEmpty, "\(broken)")
        }
    }

    @Test("the PrometheusRule carries exactly the rules of the plain rules file: names, exprs, for, labels and annotations")
    func ruleFilesAgree() throws {
        let kit = try MonitoringKit.load()
        let plain = try MonitoringKit.rules(in: kit.plainGroups)
        let resource = try MonitoringKit.rules(in: kit.ruleResource[["spec", "groups"]])
        #expect(plain.map(\.alert) == resource.map(\.alert))
        for (left, right) in zip(plain, resource) where left != right {
            Issue.record("\(left.alert) differs between dirsync-alerts.rules.yaml and prometheus-rule.yaml:\n\(left)\n\(right)")
        }
        // Everything else too: group names and intervals, and any other rule field.
        let identical = kit.plainGroups == kit.ruleResource[["spec", "groups"]]
        #expect(identical, "the groups differ beyond the fields compared above")
    }

    @Test("every metric the rules and the dashboard query is one StatusRenderer declares")
    func metricsAreDeclared() throws {
        let kit = try MonitoringKit.load()
        let declared = try MonitoringKit.declaredMetrics()
        #expect(declared.count >= 15, "\(declared.sorted())")
        let problems = MonitoringChecks.problems(kit.ruleQueries + kit.dashboardQueries, emitted: declared)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("renaming any metric of a rule makes the checker report that rule, and only it")
    func ruleRenamesAreCaught() throws {
        let kit = try MonitoringKit.load()
        let declared = try MonitoringKit.declaredMetrics()
        #expect(MonitoringChecks.problems(rules: kit.rules, emitted: declared).isEmpty)
        for (index, rule) in kit.rules.enumerated() {
            let metrics = MonitoringChecks.metricNames(in: rule.expr)
            #expect(!metrics.isEmpty, "\(rule.alert) queries no dirsync metric")
            for metric in metrics {
                var rules = kit.rules
                rules[index].expr = MonitoringChecks.renaming(metric, to: metric + "_renamed", in: rule.expr)
                let problems = MonitoringChecks.problems(rules: rules, emitted: declared)
                #expect(problems.contains { $0.owner == "alert \(rule.alert)" && $0.metric == metric + "_renamed" },
                        "renaming \(metric) in \(rule.alert) went unnoticed: \(problems)")
                #expect(problems.allSatisfy { $0.owner == "alert \(rule.alert)" }, "\(problems)")
            }
        }
    }

    @Test("renaming any metric of a dashboard panel or variable makes the checker report it, and renaming every metric reports every query")
    func dashboardRenamesAreCaught() throws {
        let queries = try MonitoringKit.load().dashboardQueries
        let declared = try MonitoringKit.declaredMetrics()
        #expect(MonitoringChecks.problems(queries, emitted: declared).isEmpty)
        for (index, query) in queries.enumerated() {
            for metric in MonitoringChecks.metricNames(in: query.expr) {
                var renamed = queries
                renamed[index].expr = MonitoringChecks.renaming(metric, to: metric + "_renamed", in: query.expr)
                let problems = MonitoringChecks.problems(renamed, emitted: declared)
                #expect(problems.contains { $0.owner == query.owner && $0.metric == metric + "_renamed" },
                        "renaming \(metric) in \(query.owner) went unnoticed: \(problems)")
            }
        }
        // The whole dashboard at once: every metric renamed everywhere.
        let everything = queries.map { query in
            var query = query
            for metric in MonitoringChecks.metricNames(in: query.expr) {
                query.expr = MonitoringChecks.renaming(metric, to: metric + "_renamed", in: query.expr)
            }
            return query
        }
        let reported = Set(MonitoringChecks.problems(everything, emitted: declared).map(\.owner))
        #expect(reported == Set(queries.map(\.owner)), "not reported: \(Set(queries.map(\.owner)).subtracting(reported))")
    }

    @Test("a query that uses no dirsync metric at all is reported, so a broken extraction cannot pass silently")
    func queryWithoutMetricIsReported() {
        let problems = MonitoringChecks.problems([MetricQuery(owner: "panel 'x'", expr: "up == 0")], emitted: ["dirsync_domain_enabled"])
        #expect(problems.map(\.owner) == ["panel 'x'"])
        // A longer name that starts or ends like an emitted one is not that metric.
        #expect(MonitoringChecks.metricNames(in: "dirsync_domain_users_total + dirsync_domain_users{state=\"x\"} + my_dirsync_domain_users")
            == ["dirsync_domain_users_total", "dirsync_domain_users"])
        #expect(MonitoringChecks.renaming("dirsync_domain_users", to: "y", in: "dirsync_domain_users_total + dirsync_domain_users")
            == "dirsync_domain_users_total + y")
    }

    @Test("the dashboard imports anywhere: a DS_PROMETHEUS input every panel and query uses, and domain and tenant_id variables from label_values that drive the drill-down row")
    func dashboardStructure() throws {
        let dashboard = try MonitoringKit.load().dashboard
        #expect(dashboard["schemaVersion"]?.int != nil)
        #expect(dashboard["title"]?.string?.isEmpty == false)
        let inputs = dashboard["__inputs"]?.array ?? []
        #expect(inputs.contains { $0["name"]?.string == "DS_PROMETHEUS" && $0["type"]?.string == "datasource" && $0["pluginId"]?.string == "prometheus" },
                "\(inputs)")
        let variables = dashboard[["templating", "list"]]?.array ?? []
        for name in ["domain", "tenant_id"] {
            let variable = try #require(variables.first { $0["name"]?.string == name }, "no \(name) variable")
            #expect(variable["type"]?.string == "query")
            #expect(variable[["datasource", "uid"]]?.string == "${DS_PROMETHEUS}")
            let query = MonitoringKit.variableQuery(variable) ?? ""
            #expect(query.hasPrefix("label_values(") && query.hasSuffix(", \(name))"), "\(name): \(query)")
        }

        let panels = MonitoringKit.panels(of: dashboard)
        let ids = panels.compactMap { $0["id"]?.int }
        #expect(ids.count == panels.count && Set(ids).count == ids.count, "every panel needs its own id")
        var row: String?
        var fleet: Set<String> = [], drillDown: Set<String> = []
        for panel in panels {
            let title = panel["title"]?.string ?? "?"
            if panel["type"]?.string == "row" { row = title; continue }
            #expect(panel["gridPos"]?["w"]?.int != nil, "\(title) has no gridPos")
            #expect(panel[["datasource", "uid"]]?.string == "${DS_PROMETHEUS}", "\(title)")
            let targets = panel["targets"]?.array ?? []
            #expect(!targets.isEmpty, "\(title) has no queries")
            for target in targets {
                let expr = target["expr"]?.string ?? ""
                #expect(target[["datasource", "uid"]]?.string == "${DS_PROMETHEUS}", "\(title)")
                let metrics = MonitoringChecks.metricNames(in: expr)
                if row?.hasPrefix("Fleet") == true {
                    fleet.formUnion(metrics)
                    #expect(!expr.contains("$domain") && !expr.contains("$tenant_id"), "the fleet overview shows every domain: \(title)")
                } else {
                    drillDown.formUnion(metrics)
                    #expect(expr.contains("domain=~\"$domain\"") && expr.contains("tenant_id=~\"$tenant_id\""), "the drill-down follows the variables: \(title): \(expr)")
                }
            }
        }
        #expect(fleet.isSuperset(of: ["dirsync_domain_state", "dirsync_domain_last_success_timestamp_seconds", "dirsync_tenant_users", "dirsync_tenant_groups",
                                      "dirsync_tenant_contacts", "dirsync_tenant_memberships", "dirsync_domain_last_run_throttled_responses",
                                      "dirsync_credential_expiry_timestamp_seconds"]), "\(fleet.sorted())")
        #expect(drillDown.isSuperset(of: ["dirsync_domain_state", "dirsync_domain_last_run_duration_seconds", "dirsync_domain_last_run_objects",
                                          "dirsync_domain_cursor_age_seconds", "dirsync_domain_progress_objects"]), "\(drillDown.sorted())")
    }

    @Test("the thresholds are the ones the README states and dirsync status warns at: 30 days for credentials, 5 days for the delta link, more than 50 throttled responses, 6 hours of max age")
    func thresholds() throws {
        let kit = try MonitoringKit.load()
        let readme = try Kit.text("jobs/monitoring/README.md")
        func rule(_ name: String) throws -> AlertRule { try #require(kit.rules.first { $0.alert == name }, "no \(name)") }
        func number(_ pattern: String, in expr: String) throws -> Int {
            let match = try #require(expr.firstMatch(of: try Regex(pattern)), "no \(pattern) in \(expr)")
            return try #require(match.output[1].substring.flatMap { Int($0) })
        }

        let credentialDays = try number(#"<\s*(\d+)\s*\*\s*86400"#, in: try rule("DirsyncCredentialExpiringSoon").expr)
        #expect(credentialDays == 30)
        #expect(TimeInterval(credentialDays * 86_400) == CredentialHealth.defaultWarningWindow, "status warns at another age than the alert")
        #expect(try MonitoringKit.section("DirsyncCredentialExpiringSoon", of: readme).contains("within \(credentialDays) days"))

        let cursorDays = try number(#">\s*(\d+)\s*\*\s*86400"#, in: try rule("DirsyncDeltaLinkAging").expr)
        #expect(cursorDays == 5)
        #expect(TimeInterval(cursorDays * 86_400) == DomainStatus.cursorWarningAge, "status warns at another age than the alert")
        #expect(try MonitoringKit.section("DirsyncDeltaLinkAging", of: readme).contains("older than \(cursorDays) days"))

        let throttled = try number(#"throttled_responses\)\s*>\s*(\d+)"#, in: try rule("DirsyncThrottled").expr)
        #expect(throttled == 50)
        #expect(try MonitoringKit.section("DirsyncThrottled", of: readme).contains("more than \(throttled) requests"))

        let fallbackHours = try number(#"\*\s*0\s*\+\s*(\d+)\s*\*\s*3600"#, in: try rule("DirsyncDomainStale").expr)
        #expect(fallbackHours == 6)
        #expect(try rule("DirsyncDomainNeverSynced").forDuration == "\(fallbackHours)h")
        #expect(readme.contains("--max-age \(fallbackHours)h"))
        #expect(try MonitoringKit.section("DirsyncDomainStale", of: readme).contains("else \(fallbackHours) hours"))
        #expect(try MonitoringKit.section("DirsyncDomainNeverSynced", of: readme).contains("for \(fallbackHours) hours"))
    }

    @Test("the README explains every alert, with the severity the rule carries, and no alert that does not exist")
    func readmeCoversEveryAlert() throws {
        let kit = try MonitoringKit.load()
        let readme = try Kit.text("jobs/monitoring/README.md")
        let headings = Set(readme.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("### `"), line.hasSuffix("`") else { return nil }
            return String(line.dropFirst(5).dropLast())
        })
        #expect(headings == Set(kit.rules.map(\.alert)), "README sections \(headings.sorted()), rules \(kit.rules.map(\.alert))")
        for rule in kit.rules {
            let section = try MonitoringKit.section(rule.alert, of: readme)
            #expect(section.contains("**\(rule.labels["severity"] ?? "?").**"), "\(rule.alert): the README gives another severity")
            #expect(section.contains("First"), "\(rule.alert): the README section names no first step")
        }
        for path in ["dirsync-alerts.rules.yaml", "prometheus-rule.yaml", "grafana-dashboard.json"] {
            #expect(readme.contains("`\(path)`"))
        }
        #expect(readme.contains("--metrics-file") && readme.contains("rule_files") && readme.contains("kubectl apply"))
    }
}

// MARK: - Against the exporter itself

@Suite("Monitoring kit against the built exporter", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct MonitoringExporterTests {
    /// Metrics the exporter writes only while a run holds a tenant, so a fleet at rest lacks them.
    /// Keep this tiny: every other metric must show in the resting fleet below.
    static let onlyWhileRunning: Set<String> = [
        "dirsync_domain_progress_objects", // the running sync's progress
    ]

    @Test("every metric the rules and the dashboard query is in dirsync status --format prometheus --max-age 6h for a fleet with a synced, a failed and a running domain and a secret expiring in 10 days")
    func exporterWritesEveryQueriedMetric() async throws {
        #expect(Self.onlyWhileRunning.count <= 2, "only metrics that exist solely during a run belong here")
        let kit = try MonitoringKit.load()
        try await SyncHarness.with(["--tenants", "2", "--users", "30", "--groups", "4", "--seed", "171"]) { h in
            let tenants = try await h.sim.tenants()
            let synced = "tenant1-verified.example", failed = "tenant2-verified.example"
            try await h.onboard([(synced, tenants[0].id), (failed, tenants[1].id)])
            try await h.run()
            // Consent revoked in tenant 2: its next run fails; both have succeeded once, so nothing is stale.
            try await h.sim.request("POST", "/_graphsim/tenants/\(tenants[1].id.uuidString.lowercased())/config", json: ["consent": false])
            try await h.run(expect: 1)

            let expiry = Date.ISO8601FormatStyle().year().month().day().format(Date().addingTimeInterval(10 * 86_400))
            let environment: [String: String?] = ["DIRSYNC_CLIENT_SECRET_EXPIRES_AT": expiry]
            let resting = try await exposition(h, environment)
            #expect(resting.samples["dirsync_domain_state{domain=\"\(synced)\",tenant_id=\"\(tenants[0].id.uuidString.lowercased())\",state=\"succeeded\"}"] == 1,
                    "\(resting.samples.keys.sorted())")
            #expect(resting.samples["dirsync_domain_state{domain=\"\(failed)\",tenant_id=\"\(tenants[1].id.uuidString.lowercased())\",state=\"failed\"}"] == 1)

            // A run of tenant 1 held at its first users page: status now sees it running.
            try await h.sim.pause(after: 0, pathPrefix: "/v1.0/users/delta")
            let run = try h.start(["run", "--domain", synced])
            try await h.sim.waitUntilPaused(run)
            let running = try await exposition(h, environment)
            try await h.sim.endPause()
            let outcome = try await run.finish()
            #expect(outcome.exitCode == 0, "\(outcome.stderr.suffix(1500))")
            #expect(running.samples["dirsync_domain_state{domain=\"\(synced)\",tenant_id=\"\(tenants[0].id.uuidString.lowercased())\",state=\"running\"}"] == 1)

            // The fixture covers every metric StatusRenderer can write, and the allow-list is exactly
            // what only a running fleet has.
            let declared = try MonitoringKit.declaredMetrics()
            #expect(resting.names.union(running.names) == declared,
                    "declared but never written: \(declared.subtracting(resting.names.union(running.names)).sorted()); written but not declared: \(resting.names.union(running.names).subtracting(declared).sorted())")
            #expect(Self.onlyWhileRunning.isDisjoint(with: resting.names), "\(Self.onlyWhileRunning.intersection(resting.names)) is written at rest too; drop it from the allow-list")
            #expect(Self.onlyWhileRunning.isSubset(of: running.names), "\(Self.onlyWhileRunning.subtracting(running.names)) is not written while running either")
            for name in ["dirsync_domain_max_age_seconds", "dirsync_credential_expiry_timestamp_seconds", "dirsync_credential_problem"] {
                #expect(resting.names.contains(name), "\(name) is missing from the exporter's output")
            }

            let emitted = resting.names.union(Self.onlyWhileRunning.intersection(running.names))
            let problems = MonitoringChecks.problems(kit.ruleQueries + kit.dashboardQueries, emitted: emitted)
            #expect(problems.isEmpty, "\(problems)")
        }
    }

    /// `dirsync status --format prometheus --max-age 6h`, checked to be valid exposition text.
    private func exposition(_ h: SyncHarness, _ environment: [String: String?]) async throws -> Exposition {
        let outcome = try await h.dirsync(["status", "--format", "prometheus", "--max-age", "6h"], extraEnvironment: environment)
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        #expect(PrometheusText.problems(outcome.stdout).isEmpty, "\(PrometheusText.problems(outcome.stdout).prefix(5))")
        let exposition = Exposition(outcome.stdout)
        #expect(exposition.typed == exposition.names, "TYPE lines \(exposition.typed.sorted()), samples \(exposition.names.sorted())")
        return exposition
    }
}

/// The metric names and samples of a Prometheus text exposition.
struct Exposition {
    /// Names from `# TYPE` lines.
    var typed: Set<String> = []
    /// Names of the samples.
    var names: Set<String> = []
    /// Sample values by series (`name{labels}` as written).
    var samples: [String: Double] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                if let name = line.split(separator: " ").dropFirst(2).first { typed.insert(String(name)) }
            } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " ") {
                let series = String(line[..<space])
                names.insert(String(series.prefix { $0 != "{" }))
                samples[series] = Double(line[line.index(after: space)...])
            }
        }
    }
}

// MARK: - The checker

/// One query a rule or the dashboard runs, named by where it is (`alert X`, `panel 'T'`, `variable v`).
struct MetricQuery: Equatable {
    var owner: String
    var expr: String
}

/// A query that uses a metric the exporter does not write (`metric`), or no dirsync metric at all.
struct MetricProblem: Equatable, CustomStringConvertible {
    var owner: String
    var metric: String?

    var description: String {
        metric.map { "\(owner) queries \($0), which dirsync does not write" } ?? "\(owner) queries no dirsync metric"
    }
}

/// One alerting rule as Prometheus reads it.
struct AlertRule: Equatable, CustomStringConvertible {
    var alert: String
    var expr: String
    var forDuration: String?
    var labels: [String: String]
    var annotations: [String: String]

    var description: String { "\(alert) for \(forDuration ?? "-") labels \(labels.sorted { $0.key < $1.key }) expr:\n\(expr)" }
}

/// Pure checks: files in, problems out, worded for a failing test.
enum MonitoringChecks {
    /// An identifier as PromQL spells metric and label names; those starting `dirsync_` are dirsync's
    /// metrics, and a longer name that merely contains one is not it.
    private static var identifier: Regex<Substring> { #/[A-Za-z_:][A-Za-z0-9_:]*/# }

    /// The dirsync metric names an expression mentions.
    static func metricNames(in expr: String) -> Set<String> {
        Set(expr.matches(of: identifier).map { String($0.output) }.filter { $0.hasPrefix("dirsync_") })
    }

    /// `expr` with every whole occurrence of `name` replaced by `replacement`.
    static func renaming(_ name: String, to replacement: String, in expr: String) -> String {
        expr.replacing(identifier) { match in String(match.output) == name ? replacement : String(match.output) }
    }

    /// Every query that uses a metric outside `emitted`, or no dirsync metric.
    static func problems(_ queries: [MetricQuery], emitted: Set<String>) -> [MetricProblem] {
        queries.flatMap { query -> [MetricProblem] in
            let names = metricNames(in: query.expr)
            if names.isEmpty { return [MetricProblem(owner: query.owner, metric: nil)] }
            return names.subtracting(emitted).sorted().map { MetricProblem(owner: query.owner, metric: $0) }
        }
    }

    /// The metric problems of alerting rules.
    static func problems(rules: [AlertRule], emitted: Set<String>) -> [MetricProblem] {
        problems(rules.map { MetricQuery(owner: "alert \($0.alert)", expr: $0.expr) }, emitted: emitted)
    }

    /// What an on-call person needs on every alert: how urgent, what it means, what to do first.
    static func description(_ rule: AlertRule) -> [String] {
        var problems: [String] = []
        if !["critical", "warning", "info"].contains(rule.labels["severity"] ?? "") { problems.append("severity must be critical, warning or info") }
        if (rule.annotations["summary"] ?? "").isEmpty { problems.append("no summary") }
        let description = rule.annotations["description"] ?? ""
        if description.count < 80 { problems.append("the description must say what the alert means and what to do") }
        if !description.contains("First") || !description.contains("`dirsync status") {
            problems.append("the description must name the first step, starting from `dirsync status`")
        }
        if rule.expr.isEmpty { problems.append("no expr") }
        return problems
    }
}

// MARK: - Reading the kit

struct MonitoringKit {
    var plainGroups: YAML?
    var ruleResource: YAML
    var rules: [AlertRule]
    var dashboard: YAML

    var ruleQueries: [MetricQuery] { rules.map { MetricQuery(owner: "alert \($0.alert)", expr: $0.expr) } }

    /// Every panel target's expr and every variable's query.
    var dashboardQueries: [MetricQuery] {
        var queries: [MetricQuery] = []
        for panel in Self.panels(of: dashboard) {
            for target in panel["targets"]?.array ?? [] {
                queries.append(MetricQuery(owner: "panel '\(panel["title"]?.string ?? "?")'", expr: target["expr"]?.string ?? ""))
            }
        }
        for variable in dashboard[["templating", "list"]]?.array ?? [] {
            queries.append(MetricQuery(owner: "variable \(variable["name"]?.string ?? "?")", expr: Self.variableQuery(variable) ?? ""))
        }
        return queries
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func load() throws -> MonitoringKit {
        let manifests = try Kit.load().manifests
        let plain = try require(manifests["jobs/monitoring/dirsync-alerts.rules.yaml"]?.first, "jobs/monitoring/dirsync-alerts.rules.yaml is missing or empty")
        let resource = try require(manifests["jobs/monitoring/prometheus-rule.yaml"]?.first { $0["kind"]?.string == "PrometheusRule" },
                                   "jobs/monitoring/prometheus-rule.yaml has no PrometheusRule")
        let data = try Data(contentsOf: Kit.root.appendingPathComponent("jobs/monitoring/grafana-dashboard.json"))
        let dashboard = try JSONDecoder().decode(YAML.self, from: data)
        return MonitoringKit(plainGroups: plain["groups"], ruleResource: resource, rules: try rules(in: plain["groups"]), dashboard: dashboard)
    }

    private static func require<T>(_ value: T?, _ problem: String) throws -> T {
        guard let value else { throw Malformed(description: problem) }
        return value
    }

    /// The alerting rules of a `groups:` list, in order.
    static func rules(in groups: YAML?) throws -> [AlertRule] {
        let groups = try require(groups?.array, "no groups list")
        return try groups.flatMap { group in
            try require(group["rules"]?.array, "a group without rules").map { rule in
                func strings(_ key: String) -> [String: String] {
                    guard case .object(let object)? = rule[key] else { return [:] }
                    return object.compactMapValues(\.string)
                }
                return AlertRule(alert: try require(rule["alert"]?.string, "a rule without alert"), expr: try require(rule["expr"]?.string, "a rule without expr"),
                                 forDuration: rule["for"]?.string, labels: strings("labels"), annotations: strings("annotations"))
            }
        }
    }

    /// Every panel, those inside collapsed rows included, in order.
    static func panels(of dashboard: YAML) -> [YAML] {
        (dashboard["panels"]?.array ?? []).flatMap { panel in [panel] + (panel["panels"]?.array ?? []) }
    }

    /// A query variable's query, in either form Grafana saves.
    static func variableQuery(_ variable: YAML) -> String? {
        variable["query"]?.string ?? variable[["query", "query"]]?.string ?? variable["definition"]?.string
    }

    /// The metric names StatusRenderer writes, read from its source.
    static func declaredMetrics() throws -> Set<String> {
        let source = try Kit.text("Sources/dirsync/Output/StatusRenderer.swift")
        // Every gauge is made by `registry.gauge("dirsync_…", labels, help: …)`.
        return Set(source.matches(of: #/gauge\("(dirsync_[a-z0-9_]+)"/#).map { String($0.output.1) })
    }

    /// The README's section about `alert` (from its `### \`alert\`` heading to the next heading).
    static func section(_ alert: String, of readme: String) throws -> String {
        let heading = "### `\(alert)`"
        let start = try require(readme.range(of: heading), "the README has no section \(heading)")
        let rest = readme[start.upperBound...]
        let end = rest.range(of: "\n#")?.lowerBound ?? rest.endIndex
        return rest[..<end].replacingOccurrences(of: "\n", with: " ")
    }
}
