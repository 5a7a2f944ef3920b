import ArgumentParser
import Foundation
import GraphSimulator
import GraphSimulatorServer

/// `graph-sim`: a fault-injecting stand-in for Microsoft Graph and the Microsoft identity platform.
@main
struct GraphSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-sim",
        abstract: "Serve simulated Entra ID tenants through Microsoft Graph delta queries and the identity platform, on loopback.",
        discussion: """
        One base URL, printed as 'graph-sim listening on <base-url>', serves:
          POST /{tenant}/oauth2/v2.0/token     client credentials: secret,
                                               certificate or federated assertion
          GET  /{tenant|domain}/v2.0/.well-known/openid-configuration
          GET  /v1.0/users/delta, /v1.0/groups/delta, /v1.0/contacts/delta
                                               $select, Prefer: return=minimal,
                                               $deltatoken=latest (a deltaLink and
                                               no data; $select baked in); users:
                                               $select=manager gives manager@delta;
                                               users and contacts: Prefer:
                                               odata.maxpagesize=N (1-999; groups
                                               ignore it)
          GET  /v1.0/users/$count, /v1.0/groups/$count, /v1.0/contacts/$count,
               /v1.0/groups/{id}/members/$count
                                               needs ConsistencyLevel: eventual
          GET  /v1.0/users, /v1.0/groups, /v1.0/contacts
                                               live objects; $select; $top (default
                                               100, 1-999); @odata.nextLink with
                                               $skiptoken; $filter=startswith(p,'x')
                                               (case-insensitive, '' for a quote) on
                                               users userPrincipalName displayName
                                               givenName surname mail, groups
                                               displayName mail mailNickname,
                                               contacts displayName givenName surname
                                               mail mailNickname; other filters 400;
                                               $count=true with ConsistencyLevel:
                                               eventual: @odata.count on page 1
          GET  /v1.0/groups/{id}/members, /beta/groups/{id}/members
                                               @odata.type + id (in full where the
                                               app may read the type); $select, $top
                                               1-999, nextLink; v1.0 leaves service
                                               principals out, beta lists them; 404
                                               for an unknown or deleted group
          POST /v1.0/directoryObjects/getByIds {"ids":[<=1000],"types":[...]?},
                                               $select; needs Directory.Read.All
          GET  /v1.0/domains, /v1.0/domains/{name}, /v1.0/organization
                                               domains: id, isVerified, isDefault,
                                               isInitial, authenticationType,
                                               supportedServices
          /_graphsim/...                       control API (below)

        Resource units: every Graph response carries x-ms-resource-unit: users
        list 2, group members 3, getByIds 5, anything else 1 (delta, groups and
        contacts lists included); $select -1, $expand +1, $top below 20 -1,
        never below 1; getByIds with $select 2. With --ru-budget, token buckets
        on the simulator's clock: per app and tenant 3,500 / 5,000 / 8,000 RU
        per 10 s (under 50 live users / 50-500 / over 500), per app across
        tenants 150,000 RU per 20 s, times --ru-scale (--ru-app-scale). Over a
        bucket: 429 TooManyRequests with Retry-After (whole seconds until the
        bucket holds the request again), x-ms-throttle-scope and
        x-ms-throttle-information: ResourceUnitLimitExceeded; throttled requests
        are charged too. Above 80 % of a bucket, answers carry
        x-ms-throttle-limit-percentage.

        Replication lag (--list-lag-ms, or per tenant listLagMillis): plain
        reads (lists, members, getByIds, $count) do not see a change for that
        long; delta reports it at once.

        Point dirsync at it: DIRSYNC_GRAPH_URL=<base-url>,
        AZURE_AUTHORITY_HOST=<base-url>. Scope: https://graph.microsoft.com/.default
        (or <base-url>/.default). Assertion audience:
        <base-url>/{tenantId}/oauth2/v2.0/token.

        Generated tenants (no --scenario): tenant K (1-based) has the domains
        tenantK-verified.example (verified, default; Email and
        OfficeCommunicationsOnline), tenantK-unverified.example (unverified),
        tenantK.onmicrosoft.com (initial; Email) and tenantK-mail.example
        (verified; Email). Tenant ids follow from --seed. The app
        --client-id/--client-secret is registered in every generated tenant
        with the dirsync app's four permissions consented: User.Read.All,
        Group.Read.All, GroupMember.Read.All and Directory.Read.All. It carries
        one directory extension, extension_<client id without dashes>_costCenter
        (String). Access tokens are JWT-shaped: their payload carries tid, appid
        and the consented roles (no roles claim without consent).

        Each tenant has users (contract properties plus employeeId,
        employeeType, companyName, officeLocation, otherMails, createdDateTime,
        creationType, externalUserState, onPremises* ids and sync state,
        preferredLanguage, mobilePhone, businessPhones, usageLocation, city,
        country, onPremisesExtensionAttributes, the cost centre and a manager),
        groups (plus visibility, createdDateTime, onPremisesSyncEnabled,
        proxyAddresses), organisational contacts (users / 50; group members of
        type orgContact), devices and service principals. Contacts need
        OrgContact.Read.All or Directory.Read.All; they cannot be soft-deleted
        or restored (Graph's deleted items hold none), so a deleted contact is
        reported with @removed reason "deleted".

        Flags of 'serve', the default subcommand ('graph-sim serve --help'
        shows defaults): --host --port --seed --tenants --users --groups
        --members-per-group --nesting standard|deep --scenario FILE
        --client-id --client-secret --token-lifetime SECONDS
        --delta-token-lifetime SECONDS --page-size --members-per-page
        --duplicate-rate --list-lag-ms MS --ru-budget --ru-scale X
        --ru-app-scale X --max-lifetime SECONDS --url-file PATH
        --ready-check --quiet

        \(controlAPIHelp)
        """,
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}

extension GraphSim {
    /// Generates the tenants and serves them until told to stop or the maximum lifetime passes.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate tenants and serve them (the default subcommand).",
                                                        discussion: controlAPIHelp)

        @Option(help: "Address to listen on; loopback only (127.x.y.z or localhost).")
        var host = "127.0.0.1"
        @Option(help: "Port to listen on; 0 picks a free port.")
        var port: UInt16 = 0
        @Option(help: "Seed for tenant ids, objects, duplicates, random mutations and probabilistic faults.")
        var seed: UInt64 = 1
        @Option(help: "Number of generated tenants.")
        var tenants = 1
        @Option(help: "Users per generated tenant.")
        var users = 1000
        @Option(help: "Groups per generated tenant.")
        var groups = 100
        @Option(help: "Average members per group (about 2% of groups are 20x larger, about 5% are empty).")
        var membersPerGroup = 20
        @Option(help: ArgumentHelp(
            "How groups nest: standard, or deep.",
            discussion: "deep replaces the standard random nesting with a lattice: chains eight groups deep, groups with two or three parent groups, one group of 50,000 users (half the users of a smaller tenant) nested under others, and some users in at least 50 groups transitively. (Standard nesting draws nested groups from all lower groups; over a large tenant that chains into closures where most users are in hundreds of groups, which directories do not do.)"))
        var nesting: GroupNesting = .standard
        @Option(help: "JSON scenario file describing tenants, domains, apps, credentials, permissions and sizes.")
        var scenario: String?
        @Option(help: "Client id registered in every generated tenant.")
        var clientId = "11111111-2222-3333-4444-555555555555"
        @Option(help: "Client secret of that app.")
        var clientSecret = "graph-sim-secret"
        @Option(help: "Access token lifetime in seconds (expires_in); short values force refreshes mid-run.")
        var tokenLifetime = 3599
        @Option(help: "deltaLink lifetime in seconds; older deltaLinks get 410 syncStateNotFound (Graph: 604800).")
        var deltaTokenLifetime: Double = 604_800
        @Option(help: "Objects per delta page (default 200). Also the most a client's Prefer: odata.maxpagesize gets, unless --max-page-size says otherwise.")
        var pageSize: Int?

        @Option(help: "The most objects per users/delta or contacts/delta page a Prefer: odata.maxpagesize may ask for (default: --page-size when given, else 999).")
        var maxPageSize: Int?
        @Option(help: "members@delta entries per page before a group is split over pages (the group is repeated).")
        var membersPerPage = 500
        @Option(help: "Probability that an object is served again at the start of the next page.")
        var duplicateRate = 0.01
        @Option(help: "Replication lag of plain reads in milliseconds: lists, members, getByIds and $count see a change this late; delta at once.")
        var listLagMs = 0
        @Flag(help: "Enforce Graph's resource-unit budgets (429 with Retry-After when a bucket is empty).")
        var ruBudget = false
        @Option(help: "Multiplies the app+tenant budgets (3,500/5,000/8,000 RU per 10 s); 0.01 makes them 35/50/80.")
        var ruScale = 1.0
        @Option(help: "Multiplies the app budget (150,000 RU per 20 s); default: --ru-scale.")
        var ruAppScale: Double?
        @Option(help: "Exit after this many seconds (0: run until POST /_graphsim/shutdown or SIGTERM).")
        var maxLifetime: Double = 0
        @Option(help: "Write the base URL to this file once listening.")
        var urlFile: String?
        @Flag(help: "Generate the tenants, report how long it took on stderr, and exit without serving.")
        var readyCheck = false
        @Flag(help: "Do not log requests to stderr.")
        var quiet = false

        func validate() throws {
            guard host == "localhost" || (host.hasPrefix("127.") && host.split(separator: ".").count == 4) else {
                throw ValidationError("--host must be a loopback address (127.x.y.z or localhost); the control API must not be reachable from the network")
            }
            guard tenants >= 1, users >= 0, groups >= 0, membersPerGroup >= 0 else { throw ValidationError("sizes must not be negative; --tenants at least 1") }
            guard (pageSize ?? 1) >= 1, (maxPageSize ?? 1) >= 1, membersPerPage >= 1 else {
                throw ValidationError("--page-size, --max-page-size and --members-per-page must be at least 1")
            }
            guard tokenLifetime >= 1 else { throw ValidationError("--token-lifetime must be at least 1 second") }
            guard listLagMs >= 0 else { throw ValidationError("--list-lag-ms must not be negative") }
            guard ruScale > 0, (ruAppScale ?? 1) > 0 else { throw ValidationError("--ru-scale and --ru-app-scale must be positive") }
        }

        func run() async throws {
            var configuration = SimulatorConfiguration()
            configuration.seed = seed
            configuration.tenantCount = tenants
            configuration.spec = TenantSpec(users: users, groups: groups, membersPerGroup: membersPerGroup, nesting: nesting)
            configuration.clientId = clientId.lowercased()
            configuration.clientSecret = clientSecret
            configuration.tokenLifetime = tokenLifetime
            configuration.deltaTokenLifetime = deltaTokenLifetime
            configuration.pageSize = pageSize ?? 200
            configuration.maxPageSize = maxPageSize ?? pageSize ?? 999
            configuration.membersPerPage = membersPerPage
            configuration.duplicateRate = duplicateRate
            configuration.listLagMillis = listLagMs
            configuration.ruBudget = ResourceBudgetSettings(enabled: ruBudget, scale: ruScale, appScale: ruAppScale)
            if let scenario {
                let data: Data
                do { data = try Data(contentsOf: URL(fileURLWithPath: scenario)) } catch {
                    throw ValidationError("cannot read scenario file \(scenario): \(error.localizedDescription)")
                }
                do { try configuration.apply(scenario: try JSONValue.parse([UInt8](data))) } catch {
                    throw ValidationError("scenario file \(scenario): \(error.message)")
                }
            }
            let started = ContinuousClock.now
            let simulator = GraphSimulator(configuration: configuration)
            let elapsed = ContinuousClock.now - started
            var members = 0
            var objects = (0, 0, 0)
            for i in 0..<simulator.tenantCount {
                let tenant = simulator.tenant(i)
                members += tenant.members.reduce(0) { $0 + $1.count }
                objects.0 += tenant.users.count
                objects.1 += tenant.groups.count
                objects.2 += tenant.contacts.count
            }
            Self.log("generated \(simulator.tenantCount) tenant(s): \(objects.0) users, \(objects.1) groups, \(objects.2) contacts, \(members) memberships in \(elapsed)")
            if readyCheck { return }

            let log: (@Sendable (String) -> Void)? = quiet ? nil : { @Sendable line in Serve.log(line) }
            let server = try await GraphSimulatorServer.start(simulator: simulator, host: host, port: port, log: log)
            FileHandle.standardOutput.write(Data("graph-sim listening on \(server.baseURL)\n".utf8))
            if let urlFile {
                try (server.baseURL + "\n").write(toFile: urlFile, atomically: true, encoding: .utf8)
            }
            if maxLifetime > 0 {
                let lifetime = maxLifetime
                Task {
                    try? await Task.sleep(for: .seconds(lifetime))
                    Self.log("maximum lifetime of \(lifetime)s reached; stopping")
                    await server.stop()
                }
            }
            let signals = SignalWatcher { await server.stop() }
            await server.waitUntilStopped()
            withExtendedLifetime(signals) {}
            Self.log("stopped")
        }

        static func log(_ line: String) {
            FileHandle.standardError.write(Data(("graph-sim: " + line + "\n").utf8))
        }
    }
}

let controlAPIHelp = """
Control API (loopback only, JSON in and out; {tid} = tenant id, domain or index):
  GET  /_graphsim/tenants
       ids, domains, apps with their access states, directory extensions,
       live counts, settings
  GET  /_graphsim/tenants/{tid}/truth
       {"tenantId","users":[...],"groups":[...],"contacts":[...],
        "memberships":[{"groupId","memberId","memberType"}],
        "domains":[{"id","isVerified","isDefault","isInitial",
                    "supportedServices"}]}
       every object: "id", every modelled property (null when unset),
       "deleted": null|"changed"|"deleted"; users also each directory
       extension and "manager" (id or null)
  POST /_graphsim/tenants/{tid}/mutations
       {"operations":[{"op":"createUser","user":{...}},
                      {"op":"updateUser","id":"...","set":{"jobTitle":null}},
                      {"op":"softDeleteUser|hardDeleteUser|restoreUser","id"},
                      the same five ops for groups ("group" instead of "user"),
                      {"op":"createContact","contact":{...}},
                      {"op":"updateContact","id","set":{...}},
                      {"op":"deleteContact","id"},
                      {"op":"setManager","id","managerId"},
                      {"op":"removeManager","id"},
                      {"op":"addMember","groupId","memberId","memberType"?},
                      {"op":"removeMember","groupId","memberId"}],
        "random":{"seed":S,"count":N}}
       a user's "set" may hold "manager" (id or null), directory
       extensions by name, and "onPremisesExtensionAttributes":
       {"extensionAttribute3":"x","extensionAttribute5":null} (merged
       key by key, like a Graph PATCH); a nested group may close a cycle
  POST /_graphsim/tenants/{tid}/config
       {"permissions":[...],"grantPermissions":[...],
        "revokePermissions":[...],"consent":false,
        "appState":"enabled|disabled|deleted",
        "secretState":"valid|expired|removed",
        "certificateState":"valid|expired|removed","clientId"?,
        "deltaTokenLifetimeSeconds":N,
        "expiredDeltaStyle":"gone410|badRequest400","duplicateRate":P,
        "emptyPageRate":P,"listLagMillis":MS,
        "verifiedDomains":[{"name","verified","supportedServices"?}],
        "directoryExtensions":[{"name","dataType":"String|Integer|Boolean"}]}
       access changes, each reversible: consent false -> tokens carry no
       roles, Graph answers 403 Authorization_RequestDenied; a revoked
       permission -> 403 on what needs it; appState deleted -> AADSTS700016
       (admin consent installs it again), disabled -> AADSTS7000112;
       secretState expired -> AADSTS7000222, removed -> AADSTS7000215;
       certificateState expired -> AADSTS700027 "[Reason - The key used is
       expired.]", removed -> AADSTS700027 "[Reason - The key was not
       found.]". They apply to token requests from then on; issued tokens
       keep their roles until they expire (fault tokenExpiry ends them).
  POST /_graphsim/faults
       {"kind","tenant"?,"pathPrefix"?,"count"?,"probability"?,
        "retryAfter"?:"2"|"0.5"|null,"status"?,"latencyMs"?,
        "afterPages"?,"afterSeconds"?}
       kinds: throttle serverError latency truncatedBody malformedBody
              connectionReset deltaLinkGone tokenExpiry foreignNextLink
              expiredPageToken
       (a 5xx storm: {"kind":"serverError","probability":1})
       expiredPageToken answers a list or members nextLink with 400
       Directory_ExpiredPageToken once its chain served afterPages pages or
       began afterSeconds ago (neither: any), e.g.
       {"kind":"expiredPageToken","afterPages":3,"probability":1}
  GET  /_graphsim/faults, DELETE /_graphsim/faults
  GET  /_graphsim/budget
       {"enabled","scale","appScale","buckets":[{"scope","appId","tenantId",
        "capacity","windowSeconds","available","usage"}]}
  POST /_graphsim/budget
       {"enabled":true,"scale":0.01,"appScale":null}: change the resource-unit
       budgets; every bucket starts full again
  GET  /_graphsim/stats, POST /_graphsim/stats/reset
       requests per endpoint and tenant, throttled, token requests, tokenLeaks;
       resourceUnits.byTenant / byApp: resourceUnits, requests, throttled,
       last10s, last20s, peakPer10s, peakPer20s; pageSizes: pages per stream
       and page size in force
  GET  /_graphsim/tokens
       every access token issued so far (for secret scans)
  POST /_graphsim/pause
       {"pathPrefix"?:"/v1.0/users/delta","after":N}
       answer the next N requests under the prefix (default /v1.0/), then
       hold every later one unanswered: a test acts at an exact point of a
       client's round (kill it while it waits for a page). Replaces an
       earlier pause and lets what it held go on.
  GET  /_graphsim/pause/wait?timeout=S
       answers once a request is held (or after S seconds, default 60)
  GET  /_graphsim/pause, DELETE /_graphsim/pause (lets held requests go on)
       {"paused","pathPrefix","after","passed","held"}
  POST /_graphsim/shutdown
"""

/// Stops the server on SIGTERM or SIGINT.
final class SignalWatcher {
    private let sources: [any DispatchSourceSignal]

    init(_ stop: @escaping @Sendable () async -> Void) {
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { Task { await stop() } }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }
}

extension GroupNesting: ExpressibleByArgument {}
