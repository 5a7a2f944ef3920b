import DirSyncCore
import Foundation

/// The reference reader of delta pages, over `JSONSerialization`: the slow, obvious reading of a
/// page that the product's byte-level ``DirSyncCore/DeltaPageDecoder`` is held to. The differential
/// tests demand the same objects, patches, diagnostics and errors from both, on fixtures and on
/// thousands of generated and mutated pages. It lives with the tests only.
package enum ReferenceDeltaDecoder {
    /// `value` as sorted compact JSON; a number JSON can spell but a Double cannot hold (`1e400`)
    /// reads as the marker `non-finite` (Foundation cannot write it back).
    package static func canonicalJSON(_ value: Any) -> String {
        func finite(_ value: Any) -> Bool {
            switch value {
            case let number as NSNumber where !(number is Bool): return number.doubleValue.isFinite
            case let array as [Any]: return array.allSatisfy(finite)
            case let object as [String: Any]: return object.values.allSatisfy(finite)
            default: return true
            }
        }
        guard finite(value) else { return "non-finite" }
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes one page of `table`'s resource.
    package static func decode(_ bytes: [UInt8], table: FieldTable) throws(MalformedPageError) -> DeltaPage {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw MalformedPageError(reason: "the body is not a JSON object", byteCount: bytes.count)
            }
            root = object
        } catch let error as MalformedPageError {
            throw error
        } catch {
            throw MalformedPageError(reason: "the body is not valid JSON (truncated?)", byteCount: bytes.count)
        }
        guard let values = root["value"] as? [Any] else {
            throw MalformedPageError(reason: "the page has no \"value\" array", byteCount: bytes.count)
        }
        let next = root["@odata.nextLink"]
        let delta = root["@odata.deltaLink"]
        let continuation: DeltaContinuation
        switch (next as? String, delta as? String) {
        case (let link?, nil) where delta == nil && StoredText.isUsableLink(link): continuation = .next(link)
        case (nil, let link?) where next == nil && StoredText.isUsableLink(link): continuation = .delta(link)
        case (.some, .some):
            throw MalformedPageError(reason: "the page carries both @odata.nextLink and @odata.deltaLink", byteCount: bytes.count)
        default:
            throw MalformedPageError(reason: "the page carries neither a usable @odata.nextLink nor @odata.deltaLink", byteCount: bytes.count)
        }

        var diagnostics: [Diagnostic] = []
        var objects: [ObjectChange] = []
        for (index, value) in values.enumerated() {
            guard let entry = value as? [String: Any] else {
                diagnostics.append(Diagnostic(code: "malformed-object", message: "\(table.resource.rawValue) entry #\(index) on the page is not a JSON object; skipped"))
                continue
            }
            var reader = EntryReader(entry: entry, table: table)
            if let object = reader.read(diagnostics: &diagnostics) { objects.append(object) }
        }
        return DeltaPage(resource: table.resource, objects: objects, continuation: continuation, diagnostics: diagnostics)
    }

    /// Reads one entry by the table's fields, keeping Graph's absent/null/value distinction and
    /// remembering the first type mismatch.
    private struct EntryReader {
        let entry: [String: Any]
        let table: FieldTable
        private var idText = "?"
        private var mismatch: String?
        private var strippedNUL: [String] = []

        init(entry: [String: Any], table: FieldTable) {
            self.entry = entry
            self.table = table
        }

        private var resource: String { table.objectName }

        mutating func read(diagnostics: inout [Diagnostic]) -> ObjectChange? {
            guard let raw = entry["id"] else {
                diagnostics.append(Diagnostic(code: "missing-id", message: "a \(resource) entry without an \"id\" was skipped"))
                return nil
            }
            guard let text = raw as? String, let id = UUID(uuidString: text) else {
                diagnostics.append(Diagnostic(code: "invalid-id", message: "a \(resource) entry with id \(Self.describe(raw)) (not a GUID) was skipped"))
                return nil
            }
            idText = text
            var object = ObjectChange(id: id, fieldCount: table.fields.count)
            for (index, field) in table.fields.enumerated() { object.values[index] = value(of: field) }
            object.removed = removal()
            if table.readsMembers { object.memberChanges = memberChanges(diagnostics: &diagnostics) }
            guard let mismatch else {
                if !strippedNUL.isEmpty { diagnostics.append(StoredText.nulStripped(resource: resource, id: idText, keys: strippedNUL)) }
                return object
            }
            diagnostics.append(Diagnostic(code: "malformed-object", message: "\(resource) \(idText) was skipped: \(mismatch)"))
            return nil
        }

        private mutating func value(of field: Field) -> Patch<FieldValue> {
            let key = field.key
            let found = field.kind == .attribute ? entry[key] ?? entry.first { $0.key.lowercased() == key.lowercased() }?.value : entry[key]
            guard let raw = found else { return .absent }
            if raw is NSNull { return .null }
            switch field.kind {
            case .text, .indexedText, .timestamp:
                guard let text = raw as? String else { return mismatched(key, raw, "a string") }
                if field.kind == .timestamp {
                    if let problem = StoredText.timestampProblem(key, text) { mismatch = mismatch ?? problem }
                    return .value(.text(text))
                }
                let cleaned = withoutNUL(text, key)
                if field.kind == .indexedText, let problem = StoredText.indexProblem(key, cleaned) { mismatch = mismatch ?? problem }
                return .value(.text(cleaned))
            case .boolean:
                guard let value = Self.bool(raw) else { return mismatched(key, raw, "a boolean") }
                return .value(.boolean(value))
            case .textCollection:
                guard let array = raw as? [Any], let strings = array as? [String], array.allSatisfy({ $0 is String }) else {
                    return mismatched(key, raw, "an array of strings")
                }
                return .value(.texts(strings.map { withoutNUL($0, key) }))
            case .reference:
                guard let array = raw as? [Any] else { return mismatched(key, raw, "an array") }
                guard let last = array.last else { return .null }
                guard let object = last as? [String: Any] else { return mismatched(key, raw, "an array of objects") }
                if let removed = object["@removed"], !(removed is NSNull) { return .null }
                guard let text = object["id"] as? String, let id = UUID(uuidString: text) else {
                    mismatch = mismatch ?? "\"\(key)\" names no object id"
                    return .absent
                }
                return .value(.reference(id))
            case .attribute:
                let cleaned = withoutNUL(json: raw, key)
                return .value(.json(ReferenceDeltaDecoder.canonicalJSON(cleaned)))
            }
        }

        /// Any JSON value with NUL characters removed from its strings and keys.
        private mutating func withoutNUL(json value: Any, _ key: String) -> Any {
            switch value {
            case let text as String: return withoutNUL(text, key)
            case let array as [Any]: return array.map { withoutNUL(json: $0, key) }
            case let object as [String: Any]:
                var cleaned: [String: Any] = [:]
                for (name, member) in object { cleaned[withoutNUL(name, key)] = withoutNUL(json: member, key) }
                return cleaned
            default: return value
            }
        }

        private mutating func withoutNUL(_ text: String, _ key: String) -> String {
            guard let cleaned = StoredText.removingNUL(text) else { return text }
            if strippedNUL.last != key { strippedNUL.append(key) }
            return cleaned
        }

        private mutating func mismatched(_ key: String, _ raw: Any, _ expected: String) -> Patch<FieldValue> {
            mismatch = mismatch ?? "\"\(key)\" is \(Self.describe(raw)), expected \(expected)"
            return .absent
        }

        private mutating func removal() -> RemovalReason? {
            guard let raw = entry["@removed"], !(raw is NSNull) else { return nil }
            guard let removed = raw as? [String: Any] else {
                mismatch = mismatch ?? "\"@removed\" is not an object"
                return nil
            }
            if let reason = removed["reason"] as? String, let known = RemovalReason(rawValue: reason) { return known }
            return .deleted
        }

        private mutating func memberChanges(diagnostics: inout [Diagnostic]) -> [MemberChange] {
            guard let raw = entry["members@delta"], !(raw is NSNull) else { return [] }
            guard let list = raw as? [Any] else {
                mismatch = mismatch ?? "\"members@delta\" is not an array"
                return []
            }
            var changes: [MemberChange] = []
            for element in list {
                guard let member = element as? [String: Any] else {
                    diagnostics.append(Diagnostic(code: "malformed-member", message: "a members@delta entry of group \(idText) is not a JSON object; skipped"))
                    continue
                }
                guard let text = member["id"] as? String, let memberID = UUID(uuidString: text) else {
                    diagnostics.append(Diagnostic(code: "invalid-member-id", message: "a member of group \(idText) with id \(Self.describe(member["id"])) (not a GUID) was skipped"))
                    continue
                }
                guard let odataType = member["@odata.type"] as? String, let type = MemberType(odataType: odataType) else {
                    diagnostics.append(Diagnostic(code: "unknown-member-type", message: "member \(text) of group \(idText) has type \(Self.describe(member["@odata.type"])), which dirsync does not store; skipped"))
                    continue
                }
                let removed = member["@removed"].map { !($0 is NSNull) } ?? false
                changes.append(MemberChange(memberID: memberID, memberType: type, removed: removed))
            }
            return changes
        }

        /// A JSON `true`/`false`, told apart from the numbers `1`/`0` (which also bridge to `Bool`).
        static func bool(_ value: Any) -> Bool? {
            guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else { return nil }
            return number.boolValue
        }

        /// A short, type-revealing rendering of a JSON value for diagnostics (strings truncated).
        static func describe(_ value: Any?) -> String {
            switch value {
            case nil: "missing"
            case is NSNull: "null"
            case let string as String: "\"\(string.prefix(64))\""
            case let value?:
                if let bool = bool(value) { "\(bool)" }
                else if let number = value as? NSNumber { "the number \(number)" }
                else if value is [Any] { "an array" }
                else if value is [String: Any] { "an object" }
                else { "an unexpected value" }
            }
        }
    }
}
