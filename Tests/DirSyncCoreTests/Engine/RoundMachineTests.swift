import DirSyncCore
import DirSyncTestDoubles
import Foundation
import Testing

/// The round machine's decisions, driven event by event with no database, network or clock.
@Suite("Round machine: every transition of a resource's rounds")
struct RoundMachineTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let initial = "https://graph.example/users/delta?$select=id"
    static let guardDefault = DeletionGuard()
    static let selection = FieldTable.users.selectedProperties

    /// One step of a script: an event for the machine and the action it must answer with.
    enum Event {
        case start(SyncCursor)
        case haltedResolved(RoundCompletion)
        case roundStarted
        case progressBegun
        case received([DeltaPage], counted: Int?)
        case totalRecorded
        case applied(PageWriteResult)
        case completed(PageWriteResult, RoundCompletion)
        case failed(any Error)
    }

    static func page(_ continuation: DeltaContinuation, _ objects: [ObjectChange] = []) -> DeltaPage {
        DeltaPage(resource: .users, objects: objects, continuation: continuation)
    }

    static let alice = ObjectChange.user(UUID(uuidString: "aaaaaaaa-0000-4000-8000-000000000001")!) { $0.user.displayName = .value("Alice") }

    /// Runs `script` and checks each answer; returns the machine for further checks.
    @discardableResult
    static func run(_ script: [(Event, RoundMachine.Action?)], options: RoundOptions = RoundOptions(),
                    sourceLocation: SourceLocation = #_sourceLocation) -> RoundMachine {
        var machine = RoundMachine(resource: .users, options: options, initialLink: initial, selection: selection)
        for (index, (event, expected)) in script.enumerated() {
            let action: RoundMachine.Action
            switch event {
            case .start(let cursor): action = machine.start(cursor: cursor, now: now)
            case .haltedResolved(let completion): action = machine.haltedResolved(completion)
            case .roundStarted: action = machine.roundStarted()
            case .progressBegun: action = machine.progressBegun()
            case .received(let pages, let counted): action = machine.received(pages, requests: pages.count, countedTotal: counted)
            case .totalRecorded: action = machine.expectedTotalRecorded()
            case .applied(let result): action = machine.applied(result)
            case .completed(let result, let completion): action = machine.completed(result, completion)
            case .failed(let error): action = machine.failed(error, now: now)
            }
            if let expected {
                #expect(action == expected, "step \(index + 1): got \(action)", sourceLocation: sourceLocation)
            } else if case .finish = action {
            } else {
                Issue.record("step \(index + 1): expected the round to finish, got \(action)", sourceLocation: sourceLocation)
            }
        }
        return machine
    }

    static let roundID = RoundMachine.roundID(startingAt: now)

    @Test("first run: no cursor starts a full round from the initial link, counts objects, writes each batch, completes")
    func firstRun() {
        let plan = DeltaPlanner.plan(.users, objects: [Self.alice])
        let machine = Self.run([
            (.start(SyncCursor(selectedProperties: Self.selection)), .startRound(mode: .full, roundID: Self.roundID, note: nil, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: Self.initial, countObjects: true)),
            (.received([Self.page(.next("n1"), [Self.alice])], counted: nil), .apply(plan, pages: 1, nextLink: "n1", mode: .full, roundID: Self.roundID)),
            (.applied(PageWriteResult(objectsUpserted: 1)), .takePages),
            (.received([Self.page(.delta("d1"))], counted: nil),
             .complete(PagePlan(resource: .users), pages: 1, deltaLink: "d1", mode: .full, roundID: Self.roundID, guard: Self.guardDefault)),
            (.completed(PageWriteResult(), .completed(objectsDeleted: 0, membershipsSwept: 0)), nil),
        ])
        #expect(machine.report?.start == .full && machine.report?.mode == .full && machine.report?.pages == 2 && machine.report?.transactions == 2)
    }

    @Test("incremental: a fresh deltaLink starts from the link, without counting objects")
    func incremental() {
        let cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now.addingTimeInterval(-3600), selectedProperties: Self.selection)
        Self.run([
            (.start(cursor), .startRound(mode: .incremental, roundID: nil, note: nil, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: "d0", countObjects: false)),
            (.received([Self.page(.delta("d1"))], counted: nil),
             .complete(PagePlan(resource: .users), pages: 1, deltaLink: "d1", mode: .incremental, roundID: nil, guard: Self.guardDefault)),
            (.completed(PageWriteResult(), .completed(objectsDeleted: 0, membershipsSwept: 0)), nil),
        ])
    }

    @Test("--full starts a full round even over a fresh deltaLink")
    func forcedFull() {
        let cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, selectedProperties: Self.selection)
        Self.run([(.start(cursor), .startRound(mode: .full, roundID: Self.roundID, note: nil, selection: Self.selection))], options: RoundOptions(forceFull: true))
    }

    @Test("a deltaLink older than Graph's 7 days starts a full round, reported as a resync")
    func sevenDayExpiry() {
        let cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now.addingTimeInterval(-8 * 24 * 3600), selectedProperties: Self.selection)
        let machine = Self.run([(.start(cursor), .startRound(mode: .full, roundID: Self.roundID, note: "resync: the stored delta state is older than Graph keeps it; starting a full round", selection: Self.selection))])
        #expect(machine.report?.start == .resync)
    }

    @Test("resume after a kill in a full or an incremental round: continue from the last committed page, then catch up", arguments: [RoundMode.full, .incremental])
    func resumeThenCatchUp(mode: RoundMode) {
        let round: Int64? = mode == .full ? 42 : nil
        let cursor = SyncCursor(deltaLink: "old", deltaLinkAt: Self.now.addingTimeInterval(-60), roundMode: mode, nextLink: "n7", roundID: round, roundPages: 7, selectedProperties: Self.selection)
        let machine = Self.run([
            (.start(cursor), .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: "n7", countObjects: mode == .full)),
            (.received([Self.page(.delta("d1"))], counted: nil),
             .complete(PagePlan(resource: .users), pages: 1, deltaLink: "d1", mode: mode, roundID: round, guard: Self.guardDefault)),
            (.completed(PageWriteResult(), .completed(objectsDeleted: 2, membershipsSwept: 0)), .readCursor),
            // The catch-up round starts from the deltaLink the resumed round just stored.
            (.start(SyncCursor(deltaLink: "d1", deltaLinkAt: Self.now, selectedProperties: Self.selection)), .startRound(mode: .incremental, roundID: nil, note: nil, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: "d1", countObjects: false)),
            (.received([Self.page(.delta("d2"), [Self.alice])], counted: nil),
             .complete(DeltaPlanner.plan(.users, objects: [Self.alice]), pages: 1, deltaLink: "d2", mode: .incremental, roundID: nil, guard: Self.guardDefault)),
            (.completed(PageWriteResult(objectsUpserted: 1), .completed(objectsDeleted: 0, membershipsSwept: 0)), nil),
        ])
        _ = machine
    }

    @Test("the catch-up's report absorbs the resumed round's: pages, writes and deletions add up, the start stays 'resumed'")
    func catchUpReportAbsorbs() {
        var machine = RoundMachine(resource: .users, options: RoundOptions(), initialLink: Self.initial, selection: Self.selection)
        _ = machine.start(cursor: SyncCursor(roundMode: .full, nextLink: "n1", roundID: 1, selectedProperties: Self.selection), now: Self.now)
        _ = machine.progressBegun()
        _ = machine.received([Self.page(.delta("d1"), [Self.alice])], requests: 2, countedTotal: nil)
        _ = machine.completed(PageWriteResult(objectsUpserted: 1), .completed(objectsDeleted: 3, membershipsSwept: 1))
        _ = machine.start(cursor: SyncCursor(deltaLink: "d1", deltaLinkAt: Self.now, selectedProperties: Self.selection), now: Self.now)
        _ = machine.roundStarted()
        _ = machine.progressBegun()
        _ = machine.received([Self.page(.delta("d2"))], requests: 1, countedTotal: nil)
        guard case .finish(let report) = machine.completed(PageWriteResult(), .completed(objectsDeleted: 1, membershipsSwept: 0)) else {
            Issue.record("expected finish")
            return
        }
        #expect(report.start == .resumed && report.mode == .full)
        #expect(report.pages == 2 && report.requests == 3 && report.transactions == 2)
        #expect(report.written.objectsUpserted == 1 && report.objectsDeleted == 4 && report.membershipsSwept == 1)
    }

    static let gone = "resync: Graph no longer has the delta state (syncStateNotFound); starting a full round"

    @Test("Graph's 410 mid-round restarts once as a full round with a new id; the counts so far are kept; a second 410 fails the round")
    func resyncMidRound() {
        let gone = GraphError(code: .resyncRequired, serverCode: "syncStateNotFound", message: "gone")
        let cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, selectedProperties: Self.selection)
        let machine = Self.run([
            (.start(cursor), .startRound(mode: .incremental, roundID: nil, note: nil, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: "d0", countObjects: false)),
            (.received([Self.page(.next("n1"), [Self.alice])], counted: nil),
             .apply(DeltaPlanner.plan(.users, objects: [Self.alice]), pages: 1, nextLink: "n1", mode: .incremental, roundID: nil)),
            (.applied(PageWriteResult(objectsUpserted: 1)), .takePages),
            (.failed(gone), .startRound(mode: .full, roundID: Self.roundID, note: Self.gone, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: Self.gone)),
            (.progressBegun, .fetch(link: Self.initial, countObjects: true)),
            (.failed(gone), .fail(RoundMachine.FailureBox(gone))),
        ])
        #expect(machine.report?.start == .resync && machine.report?.mode == .full)
        #expect(machine.report?.pages == 1 && machine.report?.written.objectsUpserted == 1)
    }

    @Test("any other fetch failure ends the round with that error")
    func otherFailure() {
        let down = GraphError(code: .serverError, status: 503, message: "unavailable")
        Self.run([
            (.start(SyncCursor(selectedProperties: Self.selection)), .startRound(mode: .full, roundID: Self.roundID, note: nil, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: Self.initial, countObjects: true)),
            (.failed(down), .fail(RoundMachine.FailureBox(down))),
        ])
    }

    @Test("the object count, once Graph gave it, is recorded before the batch's write")
    func expectedTotalFirst() {
        let plan = DeltaPlanner.plan(.users, objects: [Self.alice])
        let machine = Self.run([
            (.start(SyncCursor(selectedProperties: Self.selection)), .startRound(mode: .full, roundID: Self.roundID, note: nil, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: Self.initial, countObjects: true)),
            (.received([Self.page(.next("n1"), [Self.alice])], counted: 900), .recordExpectedTotal(900)),
            (.totalRecorded, .apply(plan, pages: 1, nextLink: "n1", mode: .full, roundID: Self.roundID)),
            (.applied(PageWriteResult()), .takePages),
            // Recorded once: a later batch goes straight to its write.
            (.received([Self.page(.delta("d"))], counted: 900),
             .complete(PagePlan(resource: .users), pages: 1, deltaLink: "d", mode: .full, roundID: Self.roundID, guard: Self.guardDefault)),
        ])
        #expect(machine.report?.expectedTotal == 900)
    }

    @Test("several waiting pages are planned as one and written in one transaction with the last one's link")
    func batch() {
        let bob = ObjectChange.user(UUID()) { $0.user.displayName = .value("Bob") }
        Self.run([
            (.start(SyncCursor(selectedProperties: Self.selection)), .startRound(mode: .full, roundID: Self.roundID, note: nil, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: Self.initial, countObjects: true)),
            (.received([Self.page(.next("n1"), [Self.alice]), Self.page(.next("n2"), [bob])], counted: nil),
             .apply(DeltaPlanner.plan(.users, objects: [Self.alice, bob]), pages: 2, nextLink: "n2", mode: .full, roundID: Self.roundID)),
        ])
    }

    @Test("the deletion guard halts the round: it finishes with the planned deletions and no catch-up")
    func guardHalts() {
        let verdict = DeletionGuard.Verdict(deletions: 60, limit: 20, tenantObjects: 100)
        let cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, selectedProperties: Self.selection)
        let machine = Self.run([
            (.start(cursor), .startRound(mode: .incremental, roundID: nil, note: nil, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: nil)),
            (.progressBegun, .fetch(link: "d0", countObjects: false)),
            (.received([Self.page(.delta("d1"))], counted: nil),
             .complete(PagePlan(resource: .users), pages: 1, deltaLink: "d1", mode: .incremental, roundID: nil, guard: Self.guardDefault)),
            (.completed(PageWriteResult(), .halted(verdict)), nil),
        ])
        #expect(machine.report?.haltedVerdict == verdict && machine.report?.deletionsPlanned == 60)
    }

    @Test("after a halt, --allow-deletes releases the held round, then an incremental round catches up")
    func releaseAfterHalt() {
        let allow = DeletionGuard(allowDeletes: true)
        let held = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, roundMode: .incremental, pendingDeltaLink: "d1", selectedProperties: Self.selection)
        let machine = Self.run([
            (.start(held), .resolveHalted(allow)),
            (.haltedResolved(.completed(objectsDeleted: 60, membershipsSwept: 0)), .readCursor),
            (.start(SyncCursor(deltaLink: "d1", deltaLinkAt: Self.now, selectedProperties: Self.selection)), .startRound(mode: .incremental, roundID: nil, note: nil, selection: Self.selection)),
        ], options: RoundOptions(deletionGuard: allow))
        #expect(machine.report?.start == .incremental)
    }

    @Test("without --allow-deletes a held round stays halted and no round starts")
    func heldStaysHalted() {
        let verdict = DeletionGuard.Verdict(deletions: 60, limit: 20, tenantObjects: 100)
        let held = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, roundMode: .incremental, pendingDeltaLink: "d1", selectedProperties: Self.selection)
        Self.run([
            (.start(held), .resolveHalted(Self.guardDefault)),
            (.haltedResolved(.halted(verdict)), nil),
        ])
    }

    @Test("--full discards a held round instead of releasing it")
    func fullIgnoresHeldRound() {
        let held = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, roundMode: .incremental, pendingDeltaLink: "d1", selectedProperties: Self.selection)
        Self.run([(.start(held), .startRound(mode: .full, roundID: Self.roundID, note: nil, selection: Self.selection))], options: RoundOptions(forceFull: true))
    }

    // MARK: - The properties a stored link was made with

    static let withEmployeeHireDate = (Self.selection + ["employeeHireDate"]).sorted()

    @Test("a run that reads other properties than the stored deltaLink was made with starts one full round and says which changed")
    func selectionChangedStartsFullRound() {
        let cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, selectedProperties: Self.selection.filter { $0 != "department" })
        let note = "resync: selected properties changed (+department)"
        let machine = Self.run([
            (.start(cursor), .startRound(mode: .full, roundID: Self.roundID, note: note, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: note)),
            (.progressBegun, .fetch(link: Self.initial, countObjects: true)),
        ])
        #expect(machine.report?.start == .propertiesChanged && machine.report?.note == note && machine.report?.start.isResync == true)
    }

    @Test("the change names every added and removed property, added first, each sorted")
    func selectionChangeNote() {
        #expect(RoundMachine.selectionChange(from: ["a", "c", "d"], to: ["b", "c", "e"]) == "resync: selected properties changed (+b, +e, -a, -d)")
        #expect(RoundMachine.selectionChange(from: ["b", "a"], to: ["a", "b"]) == nil)
        #expect(RoundMachine.selectionChange(from: nil, to: ["a"]) == "resync: the stored delta state does not record which properties it reads")
    }

    @Test("an unfinished round made with other properties is not resumed: a full round starts over (a first round stays a first round)")
    func unfinishedRoundWithOtherSelection() {
        let resumable = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, roundMode: .incremental, nextLink: "n3", roundPages: 3,
                                   selectedProperties: Self.withEmployeeHireDate)
        let note = "resync: selected properties changed (-employeeHireDate)"
        let changed = Self.run([(.start(resumable), .startRound(mode: .full, roundID: Self.roundID, note: note, selection: Self.selection))])
        #expect(changed.report?.start == .propertiesChanged)
        let first = SyncCursor(roundMode: .full, nextLink: "n3", roundID: 5, roundPages: 3, selectedProperties: Self.withEmployeeHireDate)
        let restarted = Self.run([(.start(first), .startRound(mode: .full, roundID: Self.roundID, note: note, selection: Self.selection))])
        #expect(restarted.report?.start == .full)
    }

    @Test("--full over a changed selection is the full round asked for, without a resync note")
    func forcedFullOverChangedSelection() {
        let cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, selectedProperties: Self.withEmployeeHireDate)
        let machine = Self.run([(.start(cursor), .startRound(mode: .full, roundID: Self.roundID, note: nil, selection: Self.selection))],
                               options: RoundOptions(forceFull: true))
        #expect(machine.report?.start == .full)
    }

    @Test("a cursor that does not record its properties resyncs once rather than continue a link of unknown shape")
    func unrecordedSelectionResyncs() {
        let cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now)
        let machine = Self.run([(.start(cursor), .startRound(mode: .full, roundID: Self.roundID,
                                                              note: "resync: the stored delta state does not record which properties it reads",
                                                              selection: Self.selection))])
        #expect(machine.report?.start == .propertiesChanged)
    }

    @Test("a full round the store reports lost starts again as a new full round, saying why, instead of resuming")
    func lostRoundStartsAgain() {
        var cursor = SyncCursor(deltaLink: "d0", deltaLinkAt: Self.now, roundMode: .full, nextLink: "n4", roundID: 3, roundPages: 4,
                                selectedProperties: Self.selection)
        cursor.roundLost = true
        let note = "the unfinished full round lost what it had seen (the database restarted); starting it again"
        let machine = Self.run([
            (.start(cursor), .startRound(mode: .full, roundID: Self.roundID, note: note, selection: Self.selection)),
            (.roundStarted, .beginProgress(note: note)),
            (.progressBegun, .fetch(link: Self.initial, countObjects: true)),
        ])
        #expect(machine.report?.start == .resync)
    }

    static func withFirstLoad(_ setting: FirstLoadSetting) -> RoundOptions {
        var options = RoundOptions()
        options.firstLoad = setting
        return options
    }

    @Test("the first request is guessed from the stored cursor alone: the link the round will fetch, or none when the store or a first load decides",
          arguments: [
            // (cursor, options, expected link)
            (SyncCursor(deltaLink: "d0", deltaLinkAt: now.addingTimeInterval(-3600), selectedProperties: selection), RoundOptions(), "d0"),
            (SyncCursor(deltaLink: "d0", deltaLinkAt: now.addingTimeInterval(-8 * 24 * 3600), selectedProperties: selection), RoundOptions(), initial),
            (SyncCursor(deltaLink: "d0", deltaLinkAt: now, selectedProperties: selection), RoundOptions(forceFull: true), initial),
            (SyncCursor(deltaLink: "d0", deltaLinkAt: now, selectedProperties: ["id"]), RoundOptions(), initial),
            (SyncCursor(deltaLink: "old", deltaLinkAt: now, roundMode: .full, nextLink: "n7", roundID: 7, roundPages: 7, selectedProperties: selection), RoundOptions(), "n7"),
            (SyncCursor(deltaLink: "d0", deltaLinkAt: now, pendingDeltaLink: "held", selectedProperties: selection), RoundOptions(), nil),
            (SyncCursor(), withFirstLoad(.delta), initial),
            (SyncCursor(), RoundOptions(), nil),
            (SyncCursor(), withFirstLoad(.parallel), nil),
          ] as [(SyncCursor, RoundOptions, String?)])
    func firstRequestGuess(cursor: SyncCursor, options: RoundOptions, expected: String?) {
        let guess = RoundMachine.firstRequest(resource: .users, options: options, initialLink: Self.initial, selection: Self.selection, cursor: cursor, now: Self.now)
        #expect(guess == expected)
        // Where there is a guess, it is what the machine itself fetches first.
        guard let guess else { return }
        var machine = RoundMachine(resource: .users, options: options, initialLink: Self.initial, selection: Self.selection)
        var action = machine.start(cursor: cursor, now: Self.now)
        if case .startRound = action { action = machine.roundStarted() }
        if case .beginProgress = action { action = machine.progressBegun() }
        guard case .fetch(let link, _) = action else { Issue.record("expected a fetch, got \(action)"); return }
        #expect(link == guess)
    }

}
