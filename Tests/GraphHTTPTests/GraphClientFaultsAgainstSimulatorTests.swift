import DirSyncCore
import DirSyncTestDoubles
import Foundation
import GraphHTTP
import GraphSimulator
import GraphSimulatorServer
import Logging
import Testing

/// Faults injected mid-round by graph-sim, seen through the production client over loopback HTTP.
/// The client's clock is a ``ManualClock``: it records every retry wait instead of sleeping it.
@Suite("Graph client against the simulator: faults mid-round")
struct GraphClientFaultsAgainstSimulatorTests {
    /// One fault plan, injected after the first page of a users round.
    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        /// Rules for `POST /_graphsim/faults` (`{"faults":[…]}`).
        var faults: String
        /// How many times each kind must have fired.
        var fired: [String: Int]
        /// The sum of the `Retry-After` values the simulator advertised: the round may not be faster.
        var advertisedWait: Double
        /// Throttled responses (429, 503, 504) the client must have counted.
        var throttled: Int = 0

        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "429 storm with integer Retry-After",
                 faults: #"{"faults":[{"kind":"throttle","pathPrefix":"/v1.0/users/delta","count":2,"retryAfter":"1"}]}"#,
                 fired: ["throttle": 2], advertisedWait: 2, throttled: 2),
        Scenario(name: "429 storm with fractional Retry-After",
                 faults: #"{"faults":[{"kind":"throttle","pathPrefix":"/v1.0/users/delta","count":3,"retryAfter":"0.35"}]}"#,
                 fired: ["throttle": 3], advertisedWait: 1.05, throttled: 3),
        Scenario(name: "429 storm without Retry-After",
                 faults: #"{"faults":[{"kind":"throttle","pathPrefix":"/v1.0/users/delta","count":4}]}"#,
                 fired: ["throttle": 4], advertisedWait: 0, throttled: 4),
        Scenario(name: "5xx burst (500, 502, 503 and 504 with Retry-After)",
                 faults: #"{"faults":[{"kind":"serverError","pathPrefix":"/v1.0/users/delta","count":2,"status":500},"#
                     + #"{"kind":"serverError","pathPrefix":"/v1.0/users/delta","status":502},"#
                     + #"{"kind":"serverError","pathPrefix":"/v1.0/users/delta","status":503,"retryAfter":"0.5"},"#
                     + #"{"kind":"serverError","pathPrefix":"/v1.0/users/delta","status":504,"retryAfter":"0.25"}]}"#,
                 fired: ["serverError": 5], advertisedWait: 0.75, throttled: 2),
        Scenario(name: "connection resets",
                 faults: #"{"faults":[{"kind":"connectionReset","pathPrefix":"/v1.0/users/delta","count":3}]}"#,
                 fired: ["connectionReset": 3], advertisedWait: 0),
        Scenario(name: "a truncated page",
                 faults: #"{"faults":[{"kind":"truncatedBody","pathPrefix":"/v1.0/users/delta"}]}"#,
                 fired: ["truncatedBody": 1], advertisedWait: 0),
        Scenario(name: "a malformed page body",
                 faults: #"{"faults":[{"kind":"malformedBody","pathPrefix":"/v1.0/users/delta"}]}"#,
                 fired: ["malformedBody": 1], advertisedWait: 0),
    ]

    @Test("a faulty round still ends complete and correct, and honours every Retry-After", arguments: scenarios)
    func faultyRound(_ scenario: Scenario) async throws {
        try await SimulatorHarness.with { sim in
            let clock = sim.clock
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let users = try await DeltaRound.collect(runtime.client.tenant(sim.tenant.id), .users) { page in
                if page == 1 { try sim.addFaults(scenario.faults) }
            }
            let waited = clock.sleeps.reduce(0, +)
            #expect(users.userIDs == sim.liveUserIDs)
            #expect(users.pages >= 4)
            let stats = sim.simulator.stats
            for (kind, count) in scenario.fired {
                #expect(stats.faults[kind] == count, "\(kind) fired \(stats.faults[kind] ?? 0) times")
            }
            // (The sum of 0.35 s three times is 1.0499… in binary floating point.)
            #expect(waited >= scenario.advertisedWait - 1e-9,
                    "the round waited \(clock.sleeps) s in all, less than the advertised \(scenario.advertisedWait) s")
            #expect(runtime.client.statistics.throttled == scenario.throttled)
            #expect(stats.tokenLeaks.isEmpty)
        }
    }

    @Test("each throttled retry waits at least the Retry-After of the 429 before it")
    func retryAfterSpacing() async throws {
        try await SimulatorHarness.with(users: 50, groups: 2) { sim in
            let clock = sim.clock
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            let tenant = runtime.client.tenant(sim.tenant.id)
            try sim.addFaults(#"{"faults":[{"kind":"throttle","pathPrefix":"/v1.0/users/delta","retryAfter":"0.6"},"#
                + #"{"kind":"throttle","pathPrefix":"/v1.0/users/delta","retryAfter":"0.2"}]}"#)
            _ = try await tenant.fetchDeltaPage(resource: .users, link: tenant.initialDeltaURL(.users))
            // One wait per 429, each at least its Retry-After, and nothing beyond them.
            #expect(clock.sleeps.count == 2, "\(clock.sleeps)")
            #expect(clock.sleeps.first.map { $0 >= 0.6 } == true, "\(clock.sleeps)")
            #expect(clock.sleeps.dropFirst().first.map { $0 >= 0.2 } == true, "\(clock.sleeps)")
            #expect(clock.sleeps.reduce(0, +) < 5, "\(clock.sleeps)")
            #expect(sim.simulator.stats.throttled == 2)
        }
    }

    // MARK: 4. Foreign links

    @Test("a nextLink naming another host is refused as foreignLink and no token reaches that host")
    func foreignNextLink() async throws {
        try await SimulatorHarness.with { sim in
            let runtime = try await sim.runtime(.secret(Secret(sim.clientSecret)), logger: RecordingLog().logger)
            do {
                _ = try await DeltaRound.collect(runtime.client.tenant(sim.tenant.id), .users) { page in
                    if page == 1 { try sim.addFaults(#"{"kind":"foreignNextLink","pathPrefix":"/v1.0/users/delta"}"#) }
                }
                Issue.record("expected the foreign nextLink to be refused")
            } catch let error as GraphError {
                #expect(error.code == .foreignLink)
                #expect(error.url?.hasPrefix("http://localhost:") == true, "\(error.url ?? "-")")
                #expect(!error.description.contains("\n"))
                #expect(!error.description.contains("$skiptoken"))
            }
            let stats = sim.simulator.stats
            #expect(stats.faults["foreignNextLink"] == 1)
            #expect(stats.tokenLeaks.isEmpty, "token sent to \(stats.tokenLeaks.map { "\($0.host)\($0.path)" })")
            // Only the two pages on the trusted host were requested.
            #expect(stats.deltaPages == 2)

            // The leak detector does see a bearer token sent to that host name (so the empty list above means something).
            let authority = String(sim.baseURL.dropFirst("http://127.0.0.1".count))
            _ = sim.simulator.handle(SimRequest(method: "GET", path: "/v1.0/users/delta",
                                                headers: ["host": "localhost\(authority)", "authorization": "Bearer probe"]))
            #expect(sim.simulator.stats.tokenLeaks.count == 1)
        }
    }
}
