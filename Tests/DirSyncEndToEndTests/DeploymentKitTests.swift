import DirSyncCore
import DirSyncTestSupport
import Foundation
import PostgresStore
import Testing

// Checks the deployment kit (jobs/, Dockerfile, .dockerignore) by its structure: Docker and a cluster
// are not available to the tests, so every property the kit promises is asserted on the files, and
// each checker is shown to fail when a promised field is removed. No database is needed.
//
// YAML is parsed by PyYAML (Debian's python3-yaml, which scripts/test installs): a real parser, so
// indentation or quoting mistakes fail here rather than at `kubectl apply`.

@Suite("Deployment kit")
struct DeploymentKitTests {
    // MARK: Kubernetes manifests

    @Test("every YAML file under jobs/ parses, and every Job and CronJob in it passes the common checks")
    func everyManifest() throws {
        let kit = try Kit.load()
        #expect(Set(kit.manifests.keys).isSuperset(of: Kit.expectedManifests), "missing: \(Kit.expectedManifests.subtracting(kit.manifests.keys))")
        var workloads = 0
        for (file, documents) in kit.manifests.sorted(by: { $0.key < $1.key }) {
            #expect(!documents.isEmpty, "\(file) has no documents")
            for document in documents {
                // A Prometheus rules file (jobs/monitoring) is a plain `groups:` document, not a Kubernetes object.
                let ruleFile = document["groups"]?.array != nil && document["apiVersion"] == nil
                #expect(ruleFile || (document["apiVersion"]?.string != nil && document["kind"]?.string != nil), "\(file): a document without apiVersion or kind")
                let problems = Checks.workload(document)
                #expect(problems.isEmpty, "\(file): \(problems)")
                if ["CronJob", "Job"].contains(document["kind"]?.string) { workloads += 1 }
            }
        }
        #expect(workloads >= 4)
    }

    @Test("all manifests run the same image, and each documents the exit codes for alerting")
    func imageAndExitCodes() throws {
        let kit = try Kit.load()
        let images = Set(kit.manifests.values.joined().flatMap(Checks.containers).compactMap { $0["image"]?.string })
        #expect(images.count == 1, "\(images)")
        // Every file that schedules runs; the migrate Job and the monitoring files run none.
        for (file, documents) in kit.manifests where documents.contains(where: { $0["kind"]?.string == "CronJob" }) {
            let text = try Kit.text(file)
            #expect(text.contains("Exit codes") && text.contains("deletion guard") && text.contains("configuration error"), "\(file)")
        }
    }

    @Test("the secret-based CronJob takes DATABASE_URL and AZURE_CLIENT_SECRET from a Secret")
    func secretVariant() throws {
        let cronJob = try #require(try Kit.load().document("jobs/cronjob.yaml", kind: "CronJob"))
        #expect(Checks.secretVariant(cronJob).isEmpty, "\(Checks.secretVariant(cronJob))")
    }

    @Test("the workload-identity CronJob has the pod label and service account annotation and no Azure secret")
    func workloadIdentityVariant() throws {
        let documents = try #require(try Kit.load().manifests["jobs/cronjob-workload-identity.yaml"])
        let problems = Checks.workloadIdentityVariant(documents)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("the migrate Job runs `migrate` with only the database secret")
    func migrateJob() throws {
        let job = try #require(try Kit.load().document("jobs/migrate-job.yaml", kind: "Job"))
        #expect(Checks.migrateJob(job).isEmpty, "\(Checks.migrateJob(job))")
    }

    @Test("the sharded CronJob is an Indexed Job whose pod K runs `run --shard K/N` with completions == N == parallelism")
    func shardedVariant() throws {
        let cronJob = try #require(try Kit.load().document("jobs/cronjob-sharded.yaml", kind: "CronJob"))
        #expect(Checks.shardedVariant(cronJob).isEmpty, "\(Checks.shardedVariant(cronJob))")
        // Every index the Job controller hands out expands to a shard dirsync accepts.
        let spec = try #require(cronJob[Checks.jobSpec])
        let count = try #require(spec["completions"]?.int)
        let argument = try #require(Checks.containers(cronJob).first?["args"]?[2]?.string)
        for index in 0..<count {
            let shard = try TenantShard(parsing: argument.replacingOccurrences(of: "$(JOB_COMPLETION_INDEX)", with: "\(index)"))
            #expect(shard.index == index && shard.count == count)
        }
    }

    @Test("removing any promised field from a manifest makes its check fail", arguments: Mutation.all)
    func checksCatchRemovals(mutation: Mutation) throws {
        let kit = try Kit.load()
        var documents = try #require(kit.manifests[mutation.file])
        let original = mutation.check(documents)
        #expect(original.isEmpty, "the unmodified \(mutation.file) must pass: \(original)")
        let index = try #require(documents.firstIndex { $0["kind"]?.string == mutation.kind })
        try documents[index].apply(mutation.change)
        #expect(!mutation.check(documents).isEmpty, "\(mutation.file) still passes after: \(mutation.label)")
    }

    // MARK: Dockerfile

    @Test("the Dockerfile builds in a Swift bookworm stage and runs on bookworm-slim with the C libraries as a non-root user")
    func dockerfile() throws {
        let problems = Checks.dockerfile(try Kit.text("Dockerfile"), aptProviders: try Kit.aptProviders())
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("removing a stage, a runtime library or the non-root USER makes the Dockerfile check fail", arguments: [
        ("single stage", "FROM debian:bookworm-slim AS runtime", "#"),
        ("no libpq5", " libpq5", ""),
        ("no libcurl4", " libcurl4 ", " "),
        ("no USER", "USER 65532:65532", "#"),
        ("root USER", "USER 65532:65532", "USER 0"),
        ("fat runtime", "debian:bookworm-slim", "debian:bookworm"),
        ("no static stdlib", " --static-swift-stdlib", ""),
        ("no -dev package", " libpq-dev", ""),
    ])
    func dockerfileChecksCatchRemovals(label: String, original: String, replacement: String) throws {
        let text = try Kit.text("Dockerfile")
        #expect(text.contains(original), "\(label): the Dockerfile no longer contains \(original)")
        let mutated = text.replacingOccurrences(of: original, with: replacement)
        #expect(!Checks.dockerfile(mutated, aptProviders: try Kit.aptProviders()).isEmpty, "\(label)")
    }

    @Test(".dockerignore keeps out build output but nothing SwiftPM needs to load the manifest")
    func dockerignore() throws {
        let patterns = try Kit.text(".dockerignore").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(patterns.contains(".build") && patterns.contains(".git"))
        for needed in ["Package.swift", "Sources", "Tests", "Plugins", "migrations"] {
            let excluded = patterns.contains { pattern in
                let bare = pattern.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                return bare == needed || bare == "*" || bare == "**" || (bare.hasSuffix("*") && needed.hasPrefix(bare.dropLast()))
            }
            #expect(!excluded, "\(needed) is excluded from the build context")
        }
    }

    // MARK: systemd and cron

    @Test("dirsync.service is a hardened oneshot with secrets in an EnvironmentFile; dirsync.timer is persistent and randomized")
    func systemdUnits() throws {
        let service = try Unit.parse(Kit.text("jobs/systemd/dirsync.service"))
        let timer = try Unit.parse(Kit.text("jobs/systemd/dirsync.timer"))
        #expect(Checks.service(service).isEmpty, "\(Checks.service(service))")
        #expect(Checks.timer(timer).isEmpty, "\(Checks.timer(timer))")
        #expect(try Kit.text("jobs/systemd/dirsync.service").contains("Exit codes"))
    }

    @Test("removing a unit key makes its check fail", arguments: [
        ("dirsync.service", "Type"), ("dirsync.service", "EnvironmentFile"), ("dirsync.service", "NoNewPrivileges"),
        ("dirsync.service", "ProtectSystem"), ("dirsync.service", "PrivateTmp"), ("dirsync.service", "DynamicUser"),
        ("dirsync.service", "ExecStart"), ("dirsync.service", "TimeoutStopSec"),
        ("dirsync.timer", "OnCalendar"), ("dirsync.timer", "Persistent"), ("dirsync.timer", "RandomizedDelaySec"),
        ("dirsync.timer", "WantedBy"),
    ])
    func unitChecksCatchRemovals(file: String, key: String) throws {
        let text = try Kit.text("jobs/systemd/\(file)")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.contains { $0.hasPrefix("\(key)=") }, "\(file) has no \(key)=")
        let unit = Unit.parse(lines.filter { !$0.hasPrefix("\(key)=") }.joined(separator: "\n"))
        #expect(!(file == "dirsync.timer" ? Checks.timer(unit) : Checks.service(unit)).isEmpty)
    }

    @Test("the crontab example has one schedule line running `dirsync run` as a user, without flock")
    func crontab() throws {
        let text = try Kit.text("jobs/crontab.example")
        let entries = text.split(separator: "\n").map(String.init).filter { line in
            !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty && line.range(of: #"^[A-Z_]+="#, options: .regularExpression) == nil
        }
        #expect(entries.count == 1, "\(entries)")
        let fields = try #require(entries.first).split(separator: " ", maxSplits: 6).map(String.init)
        try #require(fields.count == 7)
        for field in fields.prefix(5) {
            #expect(field.range(of: #"^[0-9*/,\-]+$"#, options: .regularExpression) != nil, "bad schedule field \(field)")
        }
        #expect(fields[5] == "dirsync", "/etc/cron.d lines name the user")
        #expect(fields[6].contains("dirsync run") && !fields[6].contains("flock"))
        #expect(text.contains("advisory lock") && text.contains("Exit codes"))
    }
}

// MARK: - The sharded run itself

@Suite("dirsync run --shard (built binary)", .enabled(if: TestEnvironment.databaseTestsEnabled))
struct ShardedRunTests {
    @Test("runs with --shard 0/2 and 1/2 each sync only their own tenants and together sync the whole fleet")
    func shardsPartitionTheFleet() async throws {
        try await SyncHarness.with(["--tenants", "4", "--users", "20", "--groups", "4", "--seed", "5"]) { h in
            let fleet = try await h.sim.tenants()
            let tenants = fleet.map(\.id)
            try await h.onboard(try fleet.map { tenant in (try #require(tenant.domains.first { $0.verified }).name, tenant.id) })
            var synced: Set<UUID> = []
            for index in 0..<2 {
                let outcome = try await h.run(["--shard", "\(index)/2"])
                let owned = Set(tenants.filter { TenantShard.index(ofTenant: $0, count: 2) == index })
                let rows = try await h.connection.query("SELECT DISTINCT tenant_id::text AS t FROM directory.sync_cursors")
                let now = Set(try rows.compactMap { UUID(uuidString: try $0.string("t")) })
                #expect(now.subtracting(synced) == owned, "shard \(index)/2 synced \(now.subtracting(synced)), owns \(owned)")
                #expect(outcome.stderr.contains("this shard owns \(owned.count) of 4 enabled tenants"), "\(outcome.stderr.suffix(1000))")
                synced = now
            }
            #expect(synced == Set(tenants))
            try await h.expectTablesEqualTruth(tenants, "after shards 0/2 and 1/2")
        }
    }
}

// MARK: - What the kit promises

/// Checkers return the problems they find, worded for a failing test; empty means the file keeps its promise.
enum Checks {
    static let jobSpec: [YAML.Key] = ["spec", "jobTemplate", "spec"]
    static let secretNames: Set<String> = ["DATABASE_URL", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"]
    static let azureCredentials: Set<String> = ["AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"]

    /// The Job spec of a CronJob or Job document.
    static func jobSpec(of document: YAML) -> YAML? {
        document["kind"]?.string == "CronJob" ? document[jobSpec] : document["spec"]
    }

    /// The pod spec of a CronJob or Job document.
    static func podSpec(of document: YAML) -> YAML? { jobSpec(of: document)?[["template", "spec"]] }

    static func containers(_ document: YAML) -> [YAML] { podSpec(of: document)?["containers"]?.array ?? [] }

    static func environment(_ document: YAML) -> [String: YAML] {
        var result: [String: YAML] = [:]
        for container in containers(document) {
            for variable in container["env"]?.array ?? [] { if let name = variable["name"]?.string { result[name] = variable } }
        }
        return result
    }

    /// The container's command line after the image's ENTRYPOINT (`dirsync`).
    static func arguments(_ document: YAML) -> [String] {
        (containers(document).first?["args"]?.array ?? []).compactMap(\.string)
    }

    /// Whether an env entry reads a key of a Secret.
    static func fromSecret(_ variable: YAML?) -> Bool {
        variable?[["valueFrom", "secretKeyRef", "name"]]?.string != nil && variable?[["valueFrom", "secretKeyRef", "key"]]?.string != nil
    }

    /// The common promises of every CronJob and Job; other kinds pass.
    static func workload(_ document: YAML) -> [String] {
        var problems: [String] = []
        func require(_ condition: Bool, _ problem: String) { if !condition { problems.append(problem) } }
        let kind = document["kind"]?.string
        guard kind == "CronJob" || kind == "Job" else { return [] }
        if kind == "CronJob" {
            require(document[["spec", "concurrencyPolicy"]]?.string == "Forbid", "concurrencyPolicy must be Forbid")
            require((document[["spec", "startingDeadlineSeconds"]]?.int ?? 0) > 0, "startingDeadlineSeconds must be set")
            require(document[["spec", "schedule"]]?.string != nil, "schedule must be set")
        }
        let job = jobSpec(of: document)
        require((job?["activeDeadlineSeconds"]?.int ?? 0) > 0, "the Job spec needs activeDeadlineSeconds")
        require((job?["backoffLimit"]?.int ?? -1) >= 0, "the Job spec needs backoffLimit")
        let pod = podSpec(of: document)
        require(pod?["restartPolicy"]?.string == "Never", "restartPolicy must be Never (podFailurePolicy needs it)")
        let grace = pod?["terminationGracePeriodSeconds"]?.int ?? 0
        require(grace >= 30, "terminationGracePeriodSeconds must outlast a page commit (at least 30), is \(grace)")
        require((pod?[["securityContext", "runAsUser"]]?.int ?? 0) > 0, "the pod must run as a non-zero runAsUser")
        require(pod?[["securityContext", "seccompProfile", "type"]]?.string == "RuntimeDefault", "seccompProfile must be RuntimeDefault")
        let all = containers(document)
        require(!all.isEmpty, "no containers")
        for container in all {
            let name = container["name"]?.string ?? "?"
            require(container[["securityContext", "runAsNonRoot"]]?.bool == true, "\(name): runAsNonRoot must be true")
            require(container[["securityContext", "readOnlyRootFilesystem"]]?.bool == true, "\(name): readOnlyRootFilesystem must be true")
            require(container[["securityContext", "allowPrivilegeEscalation"]]?.bool == false, "\(name): allowPrivilegeEscalation must be false")
            require(container[["securityContext", "capabilities", "drop"]]?.array?.contains(.string("ALL")) == true, "\(name): capabilities must drop ALL")
            for side in ["requests", "limits"] {
                require(container[["resources", .key(side), "memory"]]?.string != nil, "\(name): resources.\(side).memory must be set")
                require(container[["resources", .key(side), "cpu"]]?.string != nil, "\(name): resources.\(side).cpu must be set")
            }
            require(container["envFrom"] == nil, "\(name): envFrom hides which variables come from where; list env entries")
            for variable in container["env"]?.array ?? [] {
                guard let variableName = variable["name"]?.string, secretNames.contains(variableName) else { continue }
                require(fromSecret(variable) && variable["value"] == nil, "\(name): \(variableName) must come from a secretKeyRef, never inline")
            }
        }
        require(fromSecret(environment(document)["DATABASE_URL"]), "DATABASE_URL must come from a secretKeyRef")
        if let args = containers(document).first?["args"]?.array {
            require(["run", "migrate"].contains(args.first?.string), "args must start with a dirsync command")
        } else {
            problems.append("args must be set (the image's entrypoint is dirsync)")
        }
        return problems
    }

    static func secretVariant(_ cronJob: YAML) -> [String] {
        var problems = workload(cronJob)
        let env = environment(cronJob)
        if arguments(cronJob) != ["run"] { problems.append("args must be [run], not \(arguments(cronJob))") }
        if !fromSecret(env["AZURE_CLIENT_SECRET"]) { problems.append("AZURE_CLIENT_SECRET must come from a secretKeyRef") }
        if env["AZURE_CLIENT_ID"] == nil { problems.append("AZURE_CLIENT_ID must be set") }
        return problems
    }

    static func workloadIdentityVariant(_ documents: [YAML]) -> [String] {
        guard let cronJob = documents.first(where: { $0["kind"]?.string == "CronJob" }) else { return ["no CronJob"] }
        var problems = workload(cronJob)
        let account = documents.first { $0["kind"]?.string == "ServiceAccount" }
        let accountName = account?[["metadata", "name"]]?.string
        if account == nil { problems.append("no ServiceAccount") }
        if (account?[["metadata", "annotations", "azure.workload.identity/client-id"]]?.string ?? "").isEmpty {
            problems.append("the ServiceAccount needs the azure.workload.identity/client-id annotation")
        }
        if podSpec(of: cronJob)?["serviceAccountName"]?.string != accountName || accountName == nil {
            problems.append("the pod must use the annotated ServiceAccount")
        }
        // A string, not a boolean: label values are strings and the webhook matches "true".
        if cronJob[Checks.jobSpec + ["template", "metadata", "labels", "azure.workload.identity/use"]] != .string("true") {
            problems.append("the pod template needs the label azure.workload.identity/use: \"true\"")
        }
        let env = environment(cronJob)
        for name in azureCredentials where env[name] != nil {
            problems.append("\(name) must not be set: the webhook injects AZURE_FEDERATED_TOKEN_FILE, and no Azure secret is needed")
        }
        return problems
    }

    static func migrateJob(_ job: YAML) -> [String] {
        var problems = workload(job)
        if job["kind"]?.string != "Job" { problems.append("kind must be Job") }
        if arguments(job) != ["migrate"] { problems.append("args must be [migrate], not \(arguments(job))") }
        for name in azureCredentials.union(["AZURE_CLIENT_ID"]) where environment(job)[name] != nil {
            problems.append("migrate needs no Azure settings, yet \(name) is set")
        }
        return problems
    }

    static func shardedVariant(_ cronJob: YAML) -> [String] {
        var problems = workload(cronJob)
        let spec = cronJob[jobSpec]
        if spec?["completionMode"]?.string != "Indexed" { problems.append("completionMode must be Indexed") }
        let completions = spec?["completions"]?.int, parallelism = spec?["parallelism"]?.int
        let args = arguments(cronJob)
        let expected = completions.map { ["run", "--shard", "$(JOB_COMPLETION_INDEX)/\($0)"] }
        if args != expected { problems.append("args must be \(expected ?? []), not \(args)") }
        if completions == nil || completions != parallelism || (completions ?? 0) < 2 {
            problems.append("completions (\(completions.map(String.init) ?? "unset")) and parallelism (\(parallelism.map(String.init) ?? "unset")) must be the same N ≥ 2")
        }
        if environment(cronJob)["JOB_COMPLETION_INDEX"]?[["valueFrom", "fieldRef", "fieldPath"]]?.string
            != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
            problems.append("JOB_COMPLETION_INDEX must be declared from the job-completion-index annotation")
        }
        return problems
    }

    /// Checks the Dockerfile's text against the promises; `aptProviders` are the -dev packages Package.swift names.
    static func dockerfile(_ text: String, aptProviders: [String]) -> [String] {
        var problems: [String] = []
        func require(_ condition: Bool, _ problem: String) { if !condition { problems.append(problem) } }
        // Instructions with continuation lines joined and comments dropped.
        let instructions = text.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        var stages: [[String]] = []
        for line in instructions {
            if line.uppercased().hasPrefix("FROM ") { stages.append([line]) } else if !stages.isEmpty { stages[stages.count - 1].append(line) }
        }
        require(stages.count >= 2, "at least two stages (build and runtime), found \(stages.count)")
        guard let build = stages.first, let runtime = stages.last, stages.count >= 2 else { return problems }
        let buildFrom = build[0].split(separator: " ").map(String.init)
        require(buildFrom.count >= 2 && buildFrom[1].hasPrefix("swift:") && buildFrom[1].hasSuffix("-bookworm"), "the build stage must start from swift:<version>-bookworm")
        require(buildFrom.last.map { $0.lowercased() } == "build", "the build stage must be named build")
        let buildRuns = build.filter { $0.hasPrefix("RUN ") }.joined(separator: " ")
        require(buildRuns.contains("swift build -c release --product dirsync --static-swift-stdlib"),
                "the build stage must run swift build -c release --product dirsync --static-swift-stdlib")
        for package in aptProviders + ["pkg-config"] {
            require(words(buildRuns).contains(package), "the build stage must install \(package) (named by Package.swift)")
        }
        require(runtime[0].split(separator: " ").dropFirst().first == "debian:bookworm-slim", "the runtime stage must start from debian:bookworm-slim")
        let runtimeRuns = runtime.filter { $0.hasPrefix("RUN ") }.joined(separator: " ")
        for package in ["libcurl4", "libpq5", "libssl3", "ca-certificates"] {
            require(words(runtimeRuns).contains(package), "the runtime stage must install \(package)")
        }
        require(runtimeRuns.contains("--no-install-recommends"), "the runtime stage must install with --no-install-recommends")
        require(runtime.contains { $0.hasPrefix("COPY --from=build ") && $0.hasSuffix("/usr/local/bin/dirsync") }, "the runtime stage must copy dirsync from the build stage")
        let user = runtime.last { $0.hasPrefix("USER ") }?.dropFirst(5).split(separator: ":").first.flatMap { Int($0) }
        require((user ?? 0) > 0, "the runtime stage must end as a numeric non-root USER")
        require(runtime.contains { $0.hasPrefix("ENTRYPOINT ") && $0.contains("dirsync") }, "the entrypoint must be dirsync")
        return problems
    }

    static func service(_ unit: Unit) -> [String] {
        var problems: [String] = []
        func require(_ condition: Bool, _ problem: String) { if !condition { problems.append(problem) } }
        require(unit.value("Service", "Type") == "oneshot", "Type=oneshot")
        require(unit.value("Service", "ExecStart")?.contains("dirsync run") == true, "ExecStart runs dirsync run")
        require(unit.value("Service", "EnvironmentFile") != nil, "EnvironmentFile= holds the secrets")
        require(unit.isTrue("Service", "NoNewPrivileges"), "NoNewPrivileges=yes")
        require(unit.value("Service", "ProtectSystem") == "strict", "ProtectSystem=strict")
        require(unit.isTrue("Service", "PrivateTmp"), "PrivateTmp=yes")
        require(unit.isTrue("Service", "DynamicUser") || !["", "root", "0"].contains(unit.value("Service", "User") ?? ""),
                "DynamicUser=yes or a dedicated User=")
        require(unit.value("Service", "TimeoutStopSec") != nil, "TimeoutStopSec= gives the run time to finish its page")
        for assignment in unit.values("Service", "Environment") {
            for name in secretNames where assignment.contains("\(name)=") { problems.append("\(name) must not be in the unit: use the EnvironmentFile") }
        }
        return problems
    }

    static func timer(_ unit: Unit) -> [String] {
        var problems: [String] = []
        func require(_ condition: Bool, _ problem: String) { if !condition { problems.append(problem) } }
        require(unit.value("Timer", "OnCalendar") != nil, "OnCalendar=")
        require(unit.isTrue("Timer", "Persistent"), "Persistent=true")
        require(unit.value("Timer", "RandomizedDelaySec") != nil, "RandomizedDelaySec=")
        require(unit.value("Install", "WantedBy") == "timers.target", "WantedBy=timers.target")
        return problems
    }

    private static func words(_ text: String) -> Set<String> {
        Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
    }
}

/// One removal or corruption of a promised field, and the check that must then fail.
struct Mutation: Sendable, CustomTestStringConvertible {
    var file: String
    var kind: String
    var label: String
    var change: YAML.Change
    var check: @Sendable ([YAML]) -> [String]

    var testDescription: String { "\(file): \(label)" }

    static func cronJob(_ file: String, _ check: @escaping @Sendable (YAML) -> [String], _ label: String, _ change: YAML.Change) -> Mutation {
        Mutation(file: file, kind: "CronJob", label: label, change: change) { documents in
            documents.first { $0["kind"]?.string == "CronJob" }.map(check) ?? ["no CronJob"]
        }
    }

    static let all: [Mutation] = {
        let job = Checks.jobSpec, pod = Checks.jobSpec + ["template", "spec"], container = pod + ["containers", 0]
        let secret: @Sendable (YAML) -> [String] = Checks.secretVariant
        var mutations: [Mutation] = [
            .cronJob("jobs/cronjob.yaml", secret, "no concurrencyPolicy", .remove(["spec", "concurrencyPolicy"])),
            .cronJob("jobs/cronjob.yaml", secret, "concurrencyPolicy Allow", .set(["spec", "concurrencyPolicy"], .string("Allow"))),
            .cronJob("jobs/cronjob.yaml", secret, "no startingDeadlineSeconds", .remove(["spec", "startingDeadlineSeconds"])),
            .cronJob("jobs/cronjob.yaml", secret, "no activeDeadlineSeconds", .remove(job + ["activeDeadlineSeconds"])),
            .cronJob("jobs/cronjob.yaml", secret, "no backoffLimit", .remove(job + ["backoffLimit"])),
            .cronJob("jobs/cronjob.yaml", secret, "no terminationGracePeriodSeconds", .remove(pod + ["terminationGracePeriodSeconds"])),
            .cronJob("jobs/cronjob.yaml", secret, "grace period 5s", .set(pod + ["terminationGracePeriodSeconds"], .int(5))),
            .cronJob("jobs/cronjob.yaml", secret, "no runAsNonRoot", .remove(container + ["securityContext", "runAsNonRoot"])),
            .cronJob("jobs/cronjob.yaml", secret, "no readOnlyRootFilesystem", .remove(container + ["securityContext", "readOnlyRootFilesystem"])),
            .cronJob("jobs/cronjob.yaml", secret, "no allowPrivilegeEscalation", .remove(container + ["securityContext", "allowPrivilegeEscalation"])),
            .cronJob("jobs/cronjob.yaml", secret, "no runAsUser", .remove(pod + ["securityContext", "runAsUser"])),
            .cronJob("jobs/cronjob.yaml", secret, "no resource requests", .remove(container + ["resources", "requests"])),
            .cronJob("jobs/cronjob.yaml", secret, "no resource limits", .remove(container + ["resources", "limits"])),
            .cronJob("jobs/cronjob.yaml", secret, "inline client secret",
                     .set(container + ["env", 2], .object(["name": .string("AZURE_CLIENT_SECRET"), "value": .string("s3cret")]))),
            .cronJob("jobs/cronjob.yaml", secret, "inline DATABASE_URL",
                     .set(container + ["env", 0], .object(["name": .string("DATABASE_URL"), "value": .string("postgresql://u:p@db/x")]))),
            .cronJob("jobs/cronjob-sharded.yaml", Checks.shardedVariant, "not Indexed", .remove(job + ["completionMode"])),
            .cronJob("jobs/cronjob-sharded.yaml", Checks.shardedVariant, "completions ≠ N", .set(job + ["completions"], .int(3))),
            .cronJob("jobs/cronjob-sharded.yaml", Checks.shardedVariant, "parallelism ≠ N", .set(job + ["parallelism"], .int(2))),
            .cronJob("jobs/cronjob-sharded.yaml", Checks.shardedVariant, "fixed shard", .set(container + ["args", 2], .string("0/4"))),
            .cronJob("jobs/cronjob-sharded.yaml", Checks.shardedVariant, "no JOB_COMPLETION_INDEX", .set(container + ["env", 0], .object(["name": .string("X"), "value": .string("1")]))),
            Mutation(file: "jobs/migrate-job.yaml", kind: "Job", label: "runs run", change: .set(["spec", "template", "spec", "containers", 0, "args", 0], .string("run"))) { documents in
                documents.first.map(Checks.migrateJob) ?? ["no Job"]
            },
            Mutation(file: "jobs/migrate-job.yaml", kind: "Job", label: "no backoffLimit", change: .remove(["spec", "backoffLimit"])) { documents in
                documents.first.map(Checks.migrateJob) ?? ["no Job"]
            },
        ]
        let identity: @Sendable ([YAML]) -> [String] = Checks.workloadIdentityVariant
        mutations += [
            Mutation(file: "jobs/cronjob-workload-identity.yaml", kind: "CronJob", label: "no azure.workload.identity/use label",
                     change: .remove(job + ["template", "metadata", "labels", "azure.workload.identity/use"]), check: identity),
            Mutation(file: "jobs/cronjob-workload-identity.yaml", kind: "CronJob", label: "label as a boolean",
                     change: .set(job + ["template", "metadata", "labels", "azure.workload.identity/use"], .bool(true)), check: identity),
            Mutation(file: "jobs/cronjob-workload-identity.yaml", kind: "ServiceAccount", label: "no client-id annotation",
                     change: .remove(["metadata", "annotations", "azure.workload.identity/client-id"]), check: identity),
            Mutation(file: "jobs/cronjob-workload-identity.yaml", kind: "CronJob", label: "a client secret after all",
                     change: .set(container + ["env", 1], .object(["name": .string("AZURE_CLIENT_SECRET"), "valueFrom": .object(["secretKeyRef": .object(["name": .string("dirsync"), "key": .string("azure-client-secret")])])])), check: identity),
            Mutation(file: "jobs/cronjob-workload-identity.yaml", kind: "CronJob", label: "default service account",
                     change: .remove(pod + ["serviceAccountName"]), check: identity),
        ]
        return mutations
    }()
}

// MARK: - Reading the kit

enum Kit {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let expectedManifests: Set<String> = ["jobs/cronjob.yaml", "jobs/cronjob-workload-identity.yaml", "jobs/cronjob-sharded.yaml", "jobs/migrate-job.yaml"]

    struct Manifests {
        /// Documents per file (repository-relative path), empty documents dropped.
        var manifests: [String: [YAML]]

        func document(_ file: String, kind: String) -> YAML? { manifests[file]?.first { $0["kind"]?.string == kind } }
    }

    struct ParseFailure: Error, CustomStringConvertible {
        var description: String
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Every `*.yaml`/`*.yml` under jobs/, parsed once per test process.
    static func load() throws -> Manifests { try parsed.get() }

    private static let parsed = Result { try parse() }

    /// Every `*.yaml`/`*.yml` under jobs/, parsed by PyYAML (all documents of each file).
    private static func parse() throws -> Manifests {
        let jobs = root.appendingPathComponent("jobs")
        let files = (FileManager.default.enumerator(atPath: jobs.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.map { "jobs/\($0)" }.sorted()
        guard !files.isEmpty else { throw ParseFailure(description: "no YAML files under \(jobs.path)") }
        let script = """
            import json, sys
            try:
                import yaml
            except ImportError:
                sys.exit("PyYAML is not installed: apt-get install python3-yaml (scripts/test installs it)")
            out = {}
            for path in sys.argv[1:]:
                with open(path, encoding="utf-8") as f:
                    out[path] = [d for d in yaml.safe_load_all(f) if d is not None]
            json.dump(out, sys.stdout)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + files
        process.currentDirectoryURL = root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { throw ParseFailure(description: "cannot start python3 to parse YAML: \(error); install python3 and python3-yaml") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ParseFailure(description: "parsing jobs/*.yaml failed (exit \(process.terminationStatus)): \(errors)")
        }
        return Manifests(manifests: try JSONDecoder().decode([String: [YAML]].self, from: data))
    }

    /// The Debian -dev packages Package.swift's system library targets name in `.apt([...])`.
    static func aptProviders() throws -> [String] {
        let manifest = try text("Package.swift")
        let regex = try NSRegularExpression(pattern: #"\.apt\(\[([^\]]*)\]\)"#)
        let range = NSRange(manifest.startIndex..., in: manifest)
        let lists = regex.matches(in: manifest, range: range).compactMap { Range($0.range(at: 1), in: manifest).map { manifest[$0] } }
        let packages = lists.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
        guard !packages.isEmpty else { throw ParseFailure(description: "Package.swift names no .apt providers") }
        return packages
    }
}

/// A YAML document as JSON-compatible values (what Kubernetes itself turns YAML into).
enum YAML: Decodable, Equatable, Sendable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([YAML]), object([String: YAML])

    /// A step in a path: a mapping key or a sequence index.
    enum Key: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case key(String), index(Int)
        init(stringLiteral value: String) { self = .key(value) }
        init(integerLiteral value: Int) { self = .index(value) }
    }

    /// A change to apply at a path.
    enum Change: Sendable {
        case remove([Key]), set([Key], YAML)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([YAML].self) { self = .array(value) }
        else { self = .object(try container.decode([String: YAML].self)) }
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var int: Int? { if case .int(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var array: [YAML]? { if case .array(let value) = self { value } else { nil } }

    subscript(key: String) -> YAML? { if case .object(let object) = self { object[key] } else { nil } }
    subscript(index: Int) -> YAML? { if case .array(let array) = self, array.indices.contains(index) { array[index] } else { nil } }

    subscript(path: [Key]) -> YAML? {
        var node: YAML? = self
        for step in path {
            switch step {
            case .key(let key): node = node?[key]
            case .index(let index): node = node?[index]
            }
        }
        return node
    }

    struct PathNotFound: Error, CustomStringConvertible {
        var description: String
    }

    /// Applies `change`; the parent of the path must exist, so a mutation test cannot silently change nothing.
    mutating func apply(_ change: Change) throws {
        switch change {
        case .remove(let path): try update(path[...], with: nil)
        case .set(let path, let value): try update(path[...], with: value)
        }
    }

    private mutating func update(_ path: ArraySlice<Key>, with value: YAML?) throws {
        guard let step = path.first else { return }
        let last = path.count == 1
        switch (self, step) {
        case (.object(var object), .key(let key)):
            if last {
                guard object[key] != nil || value != nil else { throw PathNotFound(description: "no \(key) to remove") }
                object[key] = value
            } else {
                guard var child = object[key] else { throw PathNotFound(description: "no \(key)") }
                try child.update(path.dropFirst(), with: value)
                object[key] = child
            }
            self = .object(object)
        case (.array(var array), .index(let index)) where array.indices.contains(index):
            if last {
                if let value { array[index] = value } else { array.remove(at: index) }
            } else {
                try array[index].update(path.dropFirst(), with: value)
            }
            self = .array(array)
        default:
            throw PathNotFound(description: "cannot follow \(step) into \(self)")
        }
    }
}

/// A systemd unit file: values per section and key, in order (keys may repeat).
struct Unit {
    var entries: [(section: String, key: String, value: String)] = []

    static func parse(_ text: String) -> Unit {
        var unit = Unit(), section = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") { section = String(line.dropFirst().dropLast()); continue }
            guard let equals = line.firstIndex(of: "=") else { continue }
            unit.entries.append((section, line[..<equals].trimmingCharacters(in: .whitespaces), line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)))
        }
        return unit
    }

    func values(_ section: String, _ key: String) -> [String] { entries.filter { $0.section == section && $0.key == key }.map(\.value) }
    func value(_ section: String, _ key: String) -> String? { values(section, key).last }
    func isTrue(_ section: String, _ key: String) -> Bool { ["yes", "true", "on", "1"].contains(value(section, key)?.lowercased()) }
}
