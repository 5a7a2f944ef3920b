@testable import DirSyncCore
import DirSyncTestDoubles

import Foundation
import Testing

/// The byte-level decoder must read every page exactly as the `JSONSerialization` reference does:
/// the same objects and patches, the same diagnostics, the same errors.
@Suite("Delta page decoding: byte-level decoder equals the JSONSerialization reference")
struct DeltaPageDecoderDifferentialTests {
    static let strings = [
        #""Zoë Müller""#, #""""#, #""tab\there""#, #""quote \" and \\ backslash""#, #""\u00e9t\u00E9""#, #""\ud83d\ude00 emoji""#,
        #""😀 raw""#, #""slash \/ ok""#, #""\b\f\n\r""#, #""日本語""#, #""\u0000nul""#, #""a very long display name that goes on and on for more than sixty-four characters in total""#,
    ]
    static let nonStrings = ["null", "true", "false", "0", "1", "-1.5e3", "12345678901234567890", "[]", "{}", #"["x"]"#, #"{"a":1}"#]

    static func uuid(_ random: inout SplitMix64) -> String {
        let hex = Array("0123456789abcdef")
        var text = ""
        for index in 0..<32 {
            if index == 8 || index == 12 || index == 16 || index == 20 { text.append("-") }
            text.append(hex[random.int(16)])
        }
        return text
    }

    static func idValue(_ random: inout SplitMix64) -> String {
        switch random.int(20) {
        case 0: return "\"" + uuid(&random).uppercased() + "\""
        case 1: return "\"{" + uuid(&random) + "}\""
        case 2: return "\"" + uuid(&random).dropLast() + "\""
        case 3: return "\"" + uuid(&random).replacingOccurrences(of: "-", with: "") + "\""
        case 4: return random.pick(nonStrings)
        case 5: return "\"\\u0030" + uuid(&random).dropFirst() + "\""
        case 6: return "\"" + uuid(&random).replacingOccurrences(of: "a", with: "g") + "\""
        default: return "\"" + uuid(&random) + "\""
        }
    }

    static let timestamps = [#""2024-05-01T08:30:00Z""#, #""2019-12-31T23:59:59.1234567Z""#, #""2024-05-01T08:30:00+02:00""#,
                             #""2024-05-01 08:30:00""#, #""yesterday""#, #""2024-13-01T00:00:00Z""#, #""2024-05-01T08:30:00.Z""#]

    static func propertyValue(_ kind: FieldKind, _ random: inout SplitMix64) -> String {
        let roll = random.int(100)
        if roll < 12 { return "null" }
        if roll < 16 { return random.pick(nonStrings) }
        switch kind {
        case .boolean: return random.chance(50) ? "true" : "false"
        case .textCollection:
            let count = random.int(4)
            let elements = (0..<count).map { _ in random.chance(95) ? random.pick(strings) : random.pick(nonStrings) }
            return "[" + elements.joined(separator: ", ") + "]"
        case .timestamp: return random.pick(timestamps)
        case .reference:
            let entries = (0..<random.int(3)).map { _ -> String in
                if random.chance(5) { return random.pick(nonStrings) }
                var parts = [##""@odata.type": "#microsoft.graph.user""##]
                if !random.chance(10) { parts.append(#""id": "# + idValue(&random)) }
                if random.chance(25) { parts.append(#""@removed": {"reason": "deleted"}"#) }
                return "{" + parts.joined(separator: ", ") + "}"
            }
            return "[" + entries.joined(separator: ", ") + "]"
        case .text, .indexedText: return random.pick(strings)
        case .attribute: return jsonValue(&random, depth: 0)
        }
    }

    /// Any JSON value, nested a little.
    static func jsonValue(_ random: inout SplitMix64, depth: Int) -> String {
        switch depth < 2 ? random.int(6) : random.int(3) {
        case 0: return random.pick(strings)
        case 1, 2: return random.pick(nonStrings)
        case 3: return "[" + (0..<random.int(4)).map { _ in jsonValue(&random, depth: depth + 1) }.joined(separator: ", ") + "]"
        default:
            let members = (0..<random.int(4)).map { index in "\"extensionAttribute\(index + 1)\": " + jsonValue(&random, depth: depth + 1) }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    /// The users table as an operator who chose extra properties reads it.
    static let users = FieldTable.users.selecting(attributes: ["onPremisesExtensionAttributes", "preferredLanguage",
                                                              "extension_0123456789abcdef0123456789abcdef_costCenter"])

    /// A page with every JSON value in one canonical spelling: the decoders may spell the same value differently.
    static func canonical(_ page: DeltaPage) -> DeltaPage {
        var page = page
        for object in page.objects.indices {
            for index in page.objects[object].values.indices {
                guard case .value(.json(let text)) = page.objects[object].values[index] else { continue }
                if text == "non-finite" { continue }
                let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
                page.objects[object].values[index] = .value(.json(parsed.map(ReferenceDeltaDecoder.canonicalJSON) ?? "unparsable: " + text))
            }
        }
        return page
    }

    /// The keys and kinds the decoder reads, from the field tables themselves.
    static func properties(_ table: FieldTable) -> [(String, FieldKind)] { table.fields.map { ($0.key, $0.kind) } }
    static let unknown = [
        (#""businessPhones""#, #"["+1 555 0100"]"#), (#""mobilePhone""#, "null"), (#""@odata.type""#, ##""#microsoft.graph.user""##),
        (#""onPremisesExtensionAttributes""#, #"{"a":[1,2,{"b":null}],"c":-0.5E+2}"#), (#""x""#, "1e308"), (#""d\u0069splayName""#, #""escaped key""#),
    ]

    static func entry(users: Bool, _ random: inout SplitMix64) -> String {
        if random.chance(2) { return random.pick(nonStrings) }
        var fields: [String] = []
        if !random.chance(3) { fields.append(#""id": "# + idValue(&random)) }
        if random.chance(8) {
            fields.append(#""@removed": "# + random.pick([#"{"reason": "deleted"}"#, #"{"reason": "changed"}"#, #"{"reason": "other"}"#, "{}", "null", "true", #"{"reason": 5}"#]))
        } else {
            for (name, kind) in properties(users ? Self.users : .groups) where !random.chance(25) {
                fields.append("\"\(name)\": " + propertyValue(kind, &random))
            }
        }
        if !users, random.chance(60) {
            if random.chance(5) {
                fields.append(#""members@delta": "# + random.pick(["null", "{}", "3", #""x""#]))
            } else {
                let members = (0..<random.int(6)).map { _ -> String in
                    if random.chance(4) { return random.pick(nonStrings) }
                    var parts: [String] = []
                    if !random.chance(5) {
                        parts.append(#""@odata.type": "# + random.pick([##""#microsoft.graph.user""##, ##""#microsoft.graph.group""##, ##""#microsoft.graph.device""##,
                                                                       ##""#microsoft.graph.servicePrincipal""##, ##""#microsoft.graph.orgContact""##,
                                                                       ##""#microsoft.graph.printer""##, #""microsoft.graph.user""#, "7", "null"]))
                    }
                    if !random.chance(4) { parts.append(#""id": "# + idValue(&random)) }
                    if random.chance(30) { parts.append(#""@removed": "# + random.pick([#"{"reason": "deleted"}"#, "null", "{}"])) }
                    return "{" + parts.joined(separator: ", ") + "}"
                }
                fields.append(#""members@delta": ["# + members.joined(separator: ",") + "]")
            }
        }
        for _ in 0..<random.int(3) { let (key, value) = random.pick(unknown); fields.append("\(key): \(value)") }
        if random.chance(5), let duplicate = fields.first { fields.append(duplicate.replacingOccurrences(of: "\"", with: "\"", options: [], range: nil)) }
        if random.chance(5), let (name, kind) = properties(users ? Self.users : .groups).first {
            fields.append("\"\(name)\": " + propertyValue(kind, &random))
        }
        var shuffled = fields
        for index in shuffled.indices.reversed() { shuffled.swapAt(index, random.int(index + 1)) }
        return "{" + shuffled.joined(separator: random.pick([",", ", ", ",\n  "])) + "}"
    }

    static func page(users: Bool, _ random: inout SplitMix64) -> String {
        var root: [String] = [#""@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users""#]
        switch random.int(20) {
        case 0: root.append(#""@odata.nextLink": "https://x/next""#); root.append(#""@odata.deltaLink": "https://x/delta""#)
        case 1: break
        case 2: root.append(#""@odata.nextLink": """#)
        case 3: root.append(#""@odata.nextLink": null"#)
        case 4: root.append(#""@odata.deltaLink": 5"#); root.append(#""@odata.nextLink": "https://x/next""#)
        case 5...11: root.append(#""@odata.nextLink": "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=a\u0026b""#)
        default: root.append(#""@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x""#)
        }
        switch random.int(30) {
        case 0: break
        case 1: root.append(#""value": {}"#)
        case 2: root.append(#""value": null"#)
        default:
            let entries = (0..<random.int(12)).map { _ in entry(users: users, &random) }
            root.append(#""value": ["# + entries.joined(separator: ",") + "]")
        }
        for index in root.indices.reversed() { root.swapAt(index, random.int(index + 1)) }
        return "{" + root.joined(separator: ",") + "}"
    }

    static let specialBytes: [UInt8] = Array("\"{}[],:\\ 0-.eEtfnu\u{01}".utf8) + [0x80, 0xC3, 0xE2, 0xED, 0xF0, 0xF5, 0xFF]

    static func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        guard !bytes.isEmpty else { return bytes }
        for _ in 0..<(1 + random.int(2)) {
            let at = random.int(bytes.count)
            switch random.int(5) {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(random.pick(specialBytes), at: at)
            case 2: bytes[at] = random.pick(specialBytes)
            case 3: bytes = Array(bytes[..<at])
            default: bytes.insert(contentsOf: Array(random.pick([#"\ud800"#, #"\udc00x"#, #"\ud83d\u0041"#, "01", "1.", ".5", "+1", "1e", "-", "nul", "tru", "\u{7F}", "1e400", "[1,]"]).utf8), at: at)
            }
            if bytes.isEmpty { break }
        }
        return bytes
    }

    private func expectSame(_ bytes: [UInt8], table: FieldTable, sourceLocation: SourceLocation = #_sourceLocation) {
        let reference = Result { () throws(MalformedPageError) in try ReferenceDeltaDecoder.decode(bytes, table: table) }.map(Self.canonical)
        let fast = Result { () throws(MalformedPageError) in try DeltaPageDecoder.decode(bytes, table: table) }.map(Self.canonical)
        #expect(fast == reference, "page: \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    @Test("generated pages, each also mutated byte by byte", arguments: [UInt64(1), 2, 3, 4])
    func generatedAndMutated(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for round in 0..<400 {
            let users = round % 2 == 0
            let bytes = Array(Self.page(users: users, &random).utf8)
            expectSame(bytes, table: users ? Self.users : .groups)
            for _ in 0..<4 {
                let mutated = Self.mutate(bytes, &random)
                expectSame(mutated, table: users ? Self.users : .groups)
            }
        }
    }

    @Test("edge cases of the JSON grammar")
    func grammarEdges() {
        let documents = [
            "", " ", "{}", "[]", "null", #""x""#, " {\"value\":[],\"@odata.deltaLink\":\"d\"} ", "{\"value\":[],\"@odata.deltaLink\":\"d\"}x",
            "{\"value\":[],\"@odata.deltaLink\":\"d\",}", "{\"value\":[,],\"@odata.deltaLink\":\"d\"}",
            "{\"value\":[{\"id\":\"\\ud800\"}],\"@odata.deltaLink\":\"d\"}", "{\"value\":[{\"id\":\"\\udc00\"}],\"@odata.deltaLink\":\"d\"}",
            "{\"value\":[{\"x\":-0}],\"@odata.deltaLink\":\"d\"}", "{\"value\":[{\"x\":1E400}],\"@odata.deltaLink\":\"d\"}",
            "{\"value\":[{\"x\":123456789012345678901234567890}],\"@odata.deltaLink\":\"d\"}",
            "{\"value\":[{\"x\":\"\u{7F}\"}],\"@odata.deltaLink\":\"d\"}", "\u{FEFF}{\"value\":[],\"@odata.deltaLink\":\"d\"}",
            "{\"value\":[],\"value\":[{\"id\":\"25dcffff-959e-4ece-9973-e5d9b800e8cc\"}],\"@odata.deltaLink\":\"d\"}",
            "{\"value\":[{\"id\":\"25dcffff-959e-4ece-9973-e5d9b800e8cc\",\"displayName\":\"a\",\"displayName\":null}],\"@odata.deltaLink\":\"d\"}",
        ]
        for document in documents { expectSame(Array(document.utf8), table: Self.users) }
        for depth in [510, 511, 512, 513] {
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            expectSame(Array("{\"value\":[{\"x\":\(nested)}],\"@odata.deltaLink\":\"d\"}".utf8), table: .users)
        }
        for bytes: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF], [0xC3, 0xA9]] {
            let page = Array("{\"value\":[{\"id\":\"25dcffff-959e-4ece-9973-e5d9b800e8cc\",\"displayName\":\"".utf8) + bytes + Array("\"}],\"@odata.deltaLink\":\"d\"}".utf8)
            expectSame(page, table: .users)
        }
    }

    @Test("a string's bytes are passed eight at a time only while none of them is a quote, backslash, control or non-ASCII byte")
    func plainRunWords() {
        func special(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 }
        func word(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        // Every value of two neighbouring bytes at every position: the tricks borrow between neighbours.
        for position in 0..<7 {
            for pair in 0..<65536 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = UInt8(pair >> 8)
                bytes[position + 1] = UInt8(pair & 0xFF)
                let expected = special(bytes[position]) || special(bytes[position + 1])
                if JSONSpanScanner.endsPlainRun(word(bytes)) != expected {
                    Issue.record("bytes \(bytes) at \(position): expected \(expected)")
                    return
                }
            }
        }
    }

    @Test("a special byte at every offset of a string, near the page's end too, reads as the reference reads it")
    func specialBytesAtEveryOffset() {
        let specials: [[UInt8]] = [Array("\\\"".utf8), Array("\\n".utf8), Array("\\u00e9".utf8), [0x09], [0x1F], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xFF], [0xC3]]
        for length in 0..<20 {
            for offset in 0...length {
                for inserted in specials {
                    var text = [UInt8](repeating: UInt8(ascii: "x"), count: length)
                    text.insert(contentsOf: inserted, at: offset)
                    let page = Array("{\"value\":[{\"id\":\"25dcffff-959e-4ece-9973-e5d9b800e8cc\",\"displayName\":\"".utf8) + text
                        + Array("\"}],\"@odata.deltaLink\":\"d\"}".utf8)
                    expectSame(page, table: .users)
                    // The same string cut off near the end of the buffer: the last bytes go one at a time.
                    expectSame(Array(page.prefix(page.count - 20)), table: .users)
                }
            }
        }
    }

    @Test("the byte-level GUID parser accepts exactly what UUID(uuidString:) accepts")
    func guids() {
        var random = SplitMix64(seed: 99)
        for _ in 0..<3000 {
            var text = Array(Self.uuid(&random).utf8)
            if random.chance(70) { text[random.int(text.count)] = random.pick(Array("-gG0aAfF{} \u{7F}".utf8) + [0xC3]) }
            if random.chance(10) { text.removeLast() }
            let json = Array("\"".utf8) + text + Array("\"".utf8)
            let parsed = json.withUnsafeBufferPointer { buffer in
                JSONSpanScanner(buffer).uuid(JSONSpan(kind: .string, start: 0, end: json.count))
            }
            #expect(parsed == UUID(uuidString: String(decoding: text, as: UTF8.self)), "\(String(decoding: text, as: UTF8.self))")
        }
    }
}
