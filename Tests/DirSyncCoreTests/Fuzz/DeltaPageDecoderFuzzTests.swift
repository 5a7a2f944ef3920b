import DirSyncCore
import DirSyncTestDoubles

import Foundation
import Testing

/// Seeded property tests of ``DeltaPageDecoder`` with random, mutated and hostile Graph pages.
///
/// libFuzzer (`-sanitize=fuzzer`) needs a separate build of the core per run, which the shared CI
/// machine cannot afford; these tests cover the same ground deterministically: every failure names
/// its seed, and rerunning with that seed reproduces it.
@Suite("Delta page decoder under random and hostile input (seeded)")
struct DeltaPageDecoderFuzzTests {
    // MARK: - Random byte-level mutations

    @Test("randomly mutated user and group pages never crash the decoder: each decodes or throws MalformedPageError", arguments: 0..<4)
    func byteMutationsNeverCrash(seedBlock: Int) async throws {
        for seed in (seedBlock * 400)..<((seedBlock + 1) * 400) {
            await Task.yield()  // CPU-bound: let the suite's in-process simulators run
            var random = SplitMix64(seed: UInt64(seed))
            let groups = seed % 2 == 1
            let page = PageBuilder.page(entries: (0..<Int.random(in: 0...12, using: &random)).map { _ in
                groups ? PageBuilder.randomGroup(&random) : PageBuilder.randomUser(&random)
            }, last: Bool.random(using: &random))
            let mutated = ByteMutator.mutate(Array(page.utf8), &random)
            checkInvariants(try? DeltaPageDecoder.decode(mutated, table: groups ? .groups : .users), bytes: mutated, seed: seed)
        }
    }

    @Test("pages whose values are replaced by random JSON decode or throw MalformedPageError, and never return an object without a GUID")
    func structuralMutationsNeverCrash() async throws {
        for seed in 0..<1000 {
            await Task.yield()
            var random = SplitMix64(seed: UInt64(10_000 + seed))
            let entries = (0..<Int.random(in: 1...8, using: &random)).map { _ in PageBuilder.randomGroupObject(&random) }
            var root: [String: Any] = ["value": entries, "@odata.nextLink": "https://graph.microsoft.com/v1.0/groups/delta?$skiptoken=x"]
            ByteMutator.replaceRandomValue(in: &root, &random, depth: 0)
            guard JSONSerialization.isValidJSONObject(root), let data = try? JSONSerialization.data(withJSONObject: root) else { continue }
            checkInvariants(try? DeltaPageDecoder.decode(Array(data), table: .groups), bytes: Array(data), seed: 10_000 + seed)
        }
    }

    private func checkInvariants(_ page: DeltaPage?, bytes: [UInt8], seed: Int) {
        guard let page else { return }
        switch page.continuation {
        case .next(let link), .delta(let link): #expect(!link.isEmpty, "seed \(seed): empty continuation link accepted")
        }
        for diagnostic in page.diagnostics {
            #expect(!diagnostic.code.isEmpty && !diagnostic.message.isEmpty, "seed \(seed): empty diagnostic")
            #expect(diagnostic.message.count < 1000, "seed \(seed): a diagnostic must stay one short line, not echo the input")
        }
    }

    // MARK: - One hostile object among good ones

    /// A hostile entry, what the decoder must do with it, and how to recognise that it did.
    enum Hostile: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case idNotAGUID, idIsANumber, idMissing, entryIsANumber, wrongPropertyType, removedNotAnObject
        case removedWithUnknownReason, membersDeltaNotAnArray, unknownMemberType, memberIdNotAGUID
        case hugeDisplayName, deepNesting, duplicateKeys, duplicateIdKeys, nulInString, nulInArrayString, loneSurrogate

        var testDescription: String { rawValue }

        /// The entry's JSON text (written by hand: some of these cannot be produced by JSONSerialization).
        func json(id: String) -> String {
            switch self {
            case .idNotAGUID: #"{"id": "not-a-guid", "displayName": "x"}"#
            case .idIsANumber: #"{"id": 12345, "displayName": "x"}"#
            case .idMissing: #"{"displayName": "x"}"#
            case .entryIsANumber: "42"
            case .wrongPropertyType: #"{"id": "\#(id)", "displayName": ["x"], "securityEnabled": "yes"}"#
            case .removedNotAnObject: #"{"id": "\#(id)", "@removed": "deleted"}"#
            case .removedWithUnknownReason: #"{"id": "\#(id)", "@removed": {"reason": "vaporised"}}"#
            case .membersDeltaNotAnArray: #"{"id": "\#(id)", "displayName": "x", "members@delta": {"id": "\#(UUID().uuidString)"}}"#
            case .unknownMemberType:
                ##"{"id": "\##(id)", "displayName": "x", "members@delta": [{"@odata.type": "#microsoft.graph.printer", "id": "\##(UUID().uuidString)"}]}"##
            case .memberIdNotAGUID:
                ##"{"id": "\##(id)", "displayName": "x", "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": "bob"}]}"##
            case .hugeDisplayName: #"{"id": "\#(id)", "displayName": "\#(String(repeating: "é", count: 1 << 20))"}"#
            case .deepNesting: #"{"id": "\#(id)", "description": \#(String(repeating: "[", count: 100_000))\#(String(repeating: "]", count: 100_000))}"#
            case .duplicateKeys: #"{"id": "\#(id)", "displayName": "first", "displayName": "second"}"#
            case .duplicateIdKeys: #"{"id": "\#(id)", "displayName": "x", "id": "\#(UUID().uuidString)"}"#
            case .nulInString: #"{"id": "\#(id)", "displayName": "bad\u0000name", "description": "ok"}"#
            case .nulInArrayString: #"{"id": "\#(id)", "displayName": "x", "groupTypes": ["Unified\u0000"]}"#
            case .loneSurrogate: #"{"id": "\#(id)", "displayName": "half \ud800 pair"}"#
            }
        }
    }

    @Test("a hostile group entry is skipped or kept with a diagnostic, never crashes, and leaves every other entry decoded exactly", arguments: Hostile.allCases)
    func hostileEntryIsConfined(_ hostile: Hostile) async throws {
        for seed in 0..<4 {
            await Task.yield()
            var random = SplitMix64(seed: UInt64(20_000 + seed))
            let good = (0..<12).map { _ in PageBuilder.randomGroup(&random) }
            let position = Int.random(in: 0...good.count, using: &random)
            let hostileID = UUID().uuidString.lowercased()
            var entries = good
            entries.insert(hostile.json(id: hostileID), at: position)
            let baseline = try DeltaPageDecoder.decode(Array(PageBuilder.page(entries: good, last: true).utf8), table: .groups)
            #expect(baseline.diagnostics.isEmpty && baseline.objects.count == good.count)

            let decoded: DeltaPage
            do {
                decoded = try DeltaPageDecoder.decode(Array(PageBuilder.page(entries: entries, last: true).utf8), table: .groups)
            } catch {
                // Only a page the JSON parser cannot read at all may be refused whole (retried, then reported).
                #expect([.deepNesting, .loneSurrogate].contains(hostile), "seed \(seed): \(hostile) made the whole page fail: \(error)")
                continue
            }
            let others = decoded.objects.filter { $0.id.uuidString.lowercased() != hostileID && baseline.objects.map(\.id).contains($0.id) }
            #expect(others == baseline.objects, "seed \(seed): \(hostile) changed other objects on the page")
            let extra = decoded.objects.filter { !baseline.objects.map(\.id).contains($0.id) }
            #expect(extra.count <= 1, "seed \(seed): \(hostile) produced \(extra.count) objects")
            let codes = Set(decoded.diagnostics.map(\.code))
            switch hostile {
            case .idNotAGUID, .idIsANumber: #expect(extra.isEmpty && codes == ["invalid-id"], "seed \(seed)")
            case .idMissing: #expect(extra.isEmpty && codes == ["missing-id"])
            case .entryIsANumber, .wrongPropertyType, .removedNotAnObject, .membersDeltaNotAnArray:
                #expect(extra.isEmpty && codes == ["malformed-object"], "\(hostile): \(decoded.diagnostics)")
            case .removedWithUnknownReason:
                // Documented reading: an unknown reason is treated as a hard delete.
                #expect(extra.first?.removed == .deleted)
            case .unknownMemberType:
                #expect(extra.first?.memberChanges.isEmpty == true && codes == ["unknown-member-type"])
            case .memberIdNotAGUID:
                #expect(extra.first?.memberChanges.isEmpty == true && codes == ["invalid-member-id"])
            case .hugeDisplayName:
                #expect(extra.first?.group.displayName == .value(.text(String(repeating: "é", count: 1 << 20))) || (extra.isEmpty && !codes.isEmpty))
            case .deepNesting:
                #expect(extra.isEmpty && !codes.isEmpty, "\(decoded.diagnostics)")
            case .duplicateKeys:
                let name = extra.first?.group.displayName
                #expect(name == .value("first") || name == .value("second"))
            case .duplicateIdKeys:
                #expect(extra.count <= 1)
            case .nulInString:
                // PostgreSQL text cannot hold NUL: the decoder strips it (and says so) so the page can be stored.
                #expect(extra.first?.group.displayName == .value("badname"), "\(String(describing: extra.first?.group.displayName))")
                #expect(extra.first?.group.description == .value("ok"))
                #expect(codes == ["nul-stripped"], "\(decoded.diagnostics)")
            case .nulInArrayString:
                #expect(extra.first?.group.groupTypes == .value(["Unified"]))
                #expect(codes == ["nul-stripped"], "\(decoded.diagnostics)")
            case .loneSurrogate:
                break
            }
            for object in decoded.objects {
                for value in object.values {
                    if case .value(.text(let string)) = value { #expect(!string.utf8.contains(0), "seed \(seed): NUL reached a decoded string") }
                }
            }
        }
    }

    @Test("a NUL inside a user's properties is stripped with a diagnostic and the user is kept")
    func nulInUserIsStripped() throws {
        let id = UUID()
        let page = try DeltaPageDecoder.decode(Array(PageBuilder.page(entries: [
            #"{"id": "\#(id.uuidString)", "jobTitle": "\u0000Engineer\u0000", "proxyAddresses": ["smtp:a\u0000@x.example"], "surname": "Ok"}"#,
        ], last: false).utf8), table: .users)
        #expect(page.objects.count == 1)
        #expect(page.objects.first?.user.jobTitle == .value("Engineer"))
        #expect(page.objects.first?.user.proxyAddresses == .value(["smtp:a@x.example"]))
        #expect(page.objects.first?.user.surname == .value("Ok"))
        #expect(page.diagnostics.map(\.code) == ["nul-stripped"])
        #expect(page.diagnostics.first?.message.contains(id.uuidString.lowercased()) == true || page.diagnostics.first?.message.contains(id.uuidString) == true)
    }
}

extension DeltaPageDecoderFuzzTests {
    @Test("a user whose mail or userPrincipalName is too long to index is skipped with a diagnostic; its neighbours are kept")
    func oversizedIndexedValueIsSkipped() throws {
        let long = String(repeating: "a", count: 5000) + "@x.example"
        let (bad, good) = (UUID(), UUID())
        let page = try DeltaPageDecoder.decode(Array(PageBuilder.page(entries: [
            #"{"id": "\#(bad.uuidString)", "mail": "\#(long)"}"#, #"{"id": "\#(good.uuidString)", "mail": "ok@x.example"}"#,
        ], last: true).utf8), table: .users)
        #expect(page.objects.map(\.id) == [good])
        #expect(page.diagnostics.map(\.code) == ["malformed-object"])
        #expect(page.diagnostics.first?.message.contains("PostgreSQL can index") == true)
    }
}

/// Builds Graph-shaped delta pages from seeded randomness.
enum PageBuilder {
    static func page(entries: [String], last: Bool) -> String {
        let link = last ? #""@odata.deltaLink": "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=abc""#
            : #""@odata.nextLink": "https://graph.microsoft.com/v1.0/groups/delta?$skiptoken=abc""#
        return #"{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups", \#(link), "value": [\#(entries.joined(separator: ","))]}"#
    }

    static func randomUser(_ random: inout SplitMix64) -> String {
        json(randomUserObject(&random))
    }

    static func randomGroup(_ random: inout SplitMix64) -> String {
        json(randomGroupObject(&random))
    }

    static func randomUserObject(_ random: inout SplitMix64) -> [String: Any] {
        var object: [String: Any] = ["id": uuid(&random)]
        if Int.random(in: 0..<8, using: &random) == 0 { object["@removed"] = ["reason": Bool.random(using: &random) ? "changed" : "deleted"]; return object }
        for key in ["userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle", "department", "userType"] where Bool.random(using: &random) {
            object[key] = Int.random(in: 0..<5, using: &random) == 0 ? NSNull() : text(&random)
        }
        if Bool.random(using: &random) { object["accountEnabled"] = Bool.random(using: &random) }
        if Bool.random(using: &random) { object["proxyAddresses"] = (0..<Int.random(in: 0...3, using: &random)).map { _ in "smtp:" + text(&random) } }
        return object
    }

    static func randomGroupObject(_ random: inout SplitMix64) -> [String: Any] {
        var object: [String: Any] = ["id": uuid(&random)]
        if Int.random(in: 0..<8, using: &random) == 0 { object["@removed"] = ["reason": "deleted"]; return object }
        for key in ["displayName", "description", "mail", "mailNickname"] where Bool.random(using: &random) {
            object[key] = Int.random(in: 0..<5, using: &random) == 0 ? NSNull() : text(&random)
        }
        for key in ["mailEnabled", "securityEnabled"] where Bool.random(using: &random) { object[key] = Bool.random(using: &random) }
        if Bool.random(using: &random) { object["groupTypes"] = Bool.random(using: &random) ? ["Unified"] : [] }
        if Bool.random(using: &random) {
            let types = ["user", "group", "device", "servicePrincipal", "orgContact"]
            object["members@delta"] = (0..<Int.random(in: 0...6, using: &random)).map { _ -> [String: Any] in
                var member: [String: Any] = ["@odata.type": "#microsoft.graph." + types[Int.random(in: 0..<types.count, using: &random)], "id": uuid(&random)]
                if Int.random(in: 0..<4, using: &random) == 0 { member["@removed"] = ["reason": "deleted"] }
                return member
            }
        }
        return object
    }

    static func uuid(_ random: inout SplitMix64) -> String {
        let a = random.next(), b = random.next()
        return withUnsafeBytes(of: (a, b)) { UUID(uuid: Array($0).withUnsafeBytes { $0.load(as: uuid_t.self) }) }.uuidString.lowercased()
    }

    static func text(_ random: inout SplitMix64) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz ÄÖüéß漢字🙂-_.@'\"\\/")
        return String((0..<Int.random(in: 0...24, using: &random)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

/// Mutations in the style of a fuzzer: bit flips, interesting bytes, splices, truncation.
enum ByteMutator {
    static func mutate(_ input: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
            let index = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0: bytes[index] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1: bytes[index] = [0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0xFF, 0xC3, 0xED][Int.random(in: 0..<12, using: &random)]
            case 2: bytes.removeSubrange(index...)
            case 3: bytes.remove(at: index)
            case 4:
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let length = min(Int.random(in: 1...64, using: &random), bytes.count - start)
                bytes.insert(contentsOf: bytes[start..<(start + length)], at: index)
            case 5: bytes.insert(contentsOf: Array(#"\u0000"#.utf8), at: index)
            default: bytes.insert(contentsOf: Array(#"{"id":"x","@removed":{}}"#.utf8), at: index)
            }
        }
        return bytes
    }

    static func randomJSON(_ random: inout SplitMix64, depth: Int) -> Any {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &random) {
        case 0: return NSNull()
        case 1: return Bool.random(using: &random)
        case 2: return Int.random(in: -1000...1000, using: &random)
        case 3: return Double.random(in: -1e20...1e20, using: &random)
        case 4: return PageBuilder.text(&random)
        case 5: return (0..<Int.random(in: 0...3, using: &random)).map { _ in randomJSON(&random, depth: depth + 1) }
        default: return ["id": PageBuilder.uuid(&random), "@odata.type": "#microsoft.graph.user", "x": randomJSON(&random, depth: depth + 1)]
        }
    }

    /// Replaces one value somewhere in the tree (keys included: `value`, `id`, links, annotations).
    static func replaceRandomValue(in object: inout [String: Any], _ random: inout SplitMix64, depth: Int) {
        let keys = object.keys.sorted()
        guard !keys.isEmpty else { return }
        let key = keys[Int.random(in: 0..<keys.count, using: &random)]
        if depth < 4, Bool.random(using: &random) {
            if var child = object[key] as? [String: Any] {
                replaceRandomValue(in: &child, &random, depth: depth + 1)
                object[key] = child
                return
            }
            if var array = object[key] as? [Any], !array.isEmpty {
                let index = Int.random(in: 0..<array.count, using: &random)
                if var child = array[index] as? [String: Any] {
                    replaceRandomValue(in: &child, &random, depth: depth + 1)
                    array[index] = child
                } else {
                    array[index] = randomJSON(&random, depth: depth)
                }
                object[key] = array
                return
            }
        }
        object[key] = randomJSON(&random, depth: depth)
    }
}
