import ArgumentParser
import DirSyncCore
import Foundation
import PostgresStore

/// `dirsync status`: where each onboarded domain's sync stands.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show per domain how far its sync has got, what is wrong and how to fix it.",
        discussion: """
            States: never_synced, running, succeeded, failed, halted, disabled. While a sync runs, \
            progress (phase, pages, objects, rate, percent and ETA of full rounds) is shown; run it \
            again from another shell to watch it move. --format prometheus writes the text format \
            for the node_exporter textfile collector (with --max-age, also each enabled domain's \
            dirsync_domain_max_age_seconds for the alert rules in jobs/monitoring). --max-age exits 1 when an \
            enabled domain's last success is older (or missing), for alerting. Credential health (a \
            certificate's notAfter, DIRSYNC_CLIENT_SECRET_EXPIRES_AT, a federated token file) is shown per \
            domain and warned about DIRSYNC_CREDENTIAL_WARNING_DAYS (default 30) before expiry.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("domain"), help: "Show only this domain (repeatable).")
    var domains: [String] = []

    @Option(name: .long, help: "Output format: table, json or prometheus.")
    var format: StatusFormat = .table

    @Option(name: .long, help: "Exit 1 if an enabled domain has not synced successfully within this long (e.g. 90m, 6h, 1d).")
    var maxAge: String?

    func validate() throws {
        if let maxAge { do { _ = try StatusDuration.parse(maxAge) } catch { throw ValidationError("--max-age \(error.description)") } }
        for domain in domains { do { _ = try DomainName.normalize(domain) } catch { throw ValidationError(error.description) } }
    }

    func run() async throws {
        let logger = global.makeLogger()
        let configuration = try global.configuration()
        let names = try domains.map(DomainName.normalize)
        let context = try await configuration.statusContext()
        let statuses = try await configuration.withDatabase(logger: logger) { connection in
            try await Self.statuses(connection: connection, domains: names, context: context)
        }
        let limit = try maxAge.map(StatusDuration.parse)
        switch format {
        case .table: print(StatusRenderer.table(statuses))
        case .json: print(try StatusRenderer.json(statuses))
        case .prometheus: print(StatusRenderer.prometheus(statuses, maxAgeSeconds: limit), terminator: "")
        }
        if let maxAge, let limit {
            let stale = statuses.filter { $0.enabled && ($0.lastSuccessAgeSeconds ?? .infinity) > limit }
            if !stale.isEmpty {
                throw CommandFailure(.failure, "\(stale.count) enabled domain(s) without a successful sync in the last \(maxAge): " + stale.map(\.domain).joined(separator: ", "))
            }
        }
    }

    /// Current statuses of the named domains (all when empty); unknown names are a usage error.
    static func statuses(connection: PostgresConnection, domains: [String], context: DomainStatus.Context) async throws -> [DomainStatus] {
        var facts = try await PostgresStatusReader(connection: connection).facts()
        if !domains.isEmpty {
            for name in domains where !facts.contains(where: { $0.domain.domain == name }) {
                throw CommandFailure(.usage, "\(name) is not onboarded; see dirsync domains list")
            }
            facts = facts.filter { domains.contains($0.domain.domain) }
        }
        return facts.map { DomainStatus.from($0, context: context) }
    }
}

enum StatusFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, prometheus
}
