import DirSyncCore
import Foundation
import Logging
import Synchronization

/// Shows a running sync's progress: on a terminal a live line per tenant, redrawn twice a second;
/// otherwise a log line per tenant every few seconds (objects, rate, percent and ETA of full rounds).
final class ProgressReporter: Sendable {
    private struct Entry {
        var domains: [String]
        var started: Date
        var rounds: [DirectoryResource: RoundReport] = [:]
        var finished = false
    }

    private let state = Mutex<(entries: [UUID: Entry], order: [UUID], drawnLines: Int)>(([:], [], 0))
    private let interactive: Bool
    private let logger: Logger
    private let interval: Duration

    init(interactive: Bool, logger: Logger) {
        self.interactive = interactive
        self.logger = logger
        self.interval = interactive ? .milliseconds(500) : .seconds(5)
    }

    /// Records a round's latest report (called after every committed page).
    /// - Parameter domains: the tenant's onboarded domains, which name it on the line.
    func update(tenant: UUID, domains: [String], report: RoundReport) {
        state.withLock { state in
            if state.entries[tenant] == nil {
                state.entries[tenant] = Entry(domains: domains, started: Date())
                state.order.append(tenant)
            }
            state.entries[tenant]!.rounds[report.resource] = report
        }
    }

    /// Marks a tenant done: its line is no longer repeated in logs.
    func finish(tenant: UUID) {
        state.withLock { $0.entries[tenant]?.finished = true }
    }

    /// Reports until the surrounding task is cancelled.
    func run() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { break }
            report()
        }
        if interactive { report() }
    }

    private func report() {
        let snapshot = state.withLock { state in state.order.compactMap { id in state.entries[id].map { (id, $0) } } }
        if interactive {
            let lines = snapshot.map { Self.line(tenant: $0.0, entry: $0.1) }
            let previous = state.withLock { state -> Int in
                defer { state.drawnLines = lines.count }
                return state.drawnLines
            }
            var text = previous > 0 ? "\u{1B}[\(previous)A" : ""
            for line in lines { text += "\r\u{1B}[2K" + String(line.prefix(119)) + "\n" }
            FileHandle.standardError.write(Data(text.utf8))
        } else {
            for (tenant, entry) in snapshot where !entry.finished {
                let figures = Self.figures(entry)
                var metadata: Logger.Metadata = [
                    "tenant.id": "\(tenant.uuidString.lowercased())", "domains": "\(entry.domains.joined(separator: ","))", "objects": "\(figures.objects)", "pages": "\(figures.pages)",
                    "rate": "\(Int(figures.rate.rounded()))",
                ]
                if let percent = figures.percent { metadata["percent"] = "\(percent)" }
                if let eta = figures.eta { metadata["eta_seconds"] = "\(Int(eta))" }
                logger.info("sync progress", metadata: metadata)
            }
        }
    }

    private static func figures(_ entry: Entry) -> (objects: Int, pages: Int, rate: Double, percent: Double?, eta: Double?) {
        let objects = entry.rounds.values.reduce(0) { $0 + $1.objectsSeen }
        let pages = entry.rounds.values.reduce(0) { $0 + $1.pages }
        let elapsed = max(0.001, Date().timeIntervalSince(entry.started))
        let rate = Double(objects) / elapsed
        // A finished round is all of itself; an unfinished one needs Graph's count to say how far it is.
        let shares = entry.rounds.values.map { round -> (done: Int, total: Int)? in
            if let total = round.expectedTotal { return (min(round.objectsSeen, total), total) }
            return round.completion != nil ? (round.objectsSeen, round.objectsSeen) : nil
        }
        guard !shares.isEmpty, shares.allSatisfy({ $0 != nil }), case let total = shares.reduce(0, { $0 + $1!.total }), total > 0 else {
            return (objects, pages, rate, nil, nil)
        }
        let done = Double(shares.reduce(0) { $0 + $1!.done })
        return (objects, pages, rate, (done / Double(total) * 1000).rounded() / 10, rate > 0 ? (Double(total) - done) / rate : nil)
    }

    /// `contoso.com` or `contoso.com +2` (the tenant's first domain, a customer's own before its
    /// `*.onmicrosoft.com` one, and how many more), else the id's start.
    static func name(tenant: UUID, domains: [String]) -> String {
        let ordered = domains.sorted { ($0.hasSuffix(".onmicrosoft.com") ? 1 : 0, $0) < ($1.hasSuffix(".onmicrosoft.com") ? 1 : 0, $1) }
        guard let first = ordered.first else { return String(tenant.uuidString.lowercased().prefix(8)) }
        return domains.count > 1 ? "\(first) +\(domains.count - 1)" : first
    }

    private static func line(tenant: UUID, entry: Entry) -> String {
        let figures = figures(entry)
        var text = "\(name(tenant: tenant, domains: entry.domains))  \(figures.objects) objects  \(figures.pages) pages  \(Int(figures.rate.rounded()))/s"
        if let percent = figures.percent { text += "  \(percent)%" }
        if let eta = figures.eta, !entry.finished { text += "  ETA \(StatusDuration.short(eta))" }
        if entry.finished { text += "  done" }
        return text
    }
}
