import Foundation

/// Turns the bytes of a Graph delta response into a ``DeltaPage`` of a ``FieldTable``'s objects.
///
/// The one place that knows the wire format of a delta page. It validates the page with
/// ``JSONSpanScanner`` and reads only the keys the table declares, straight into ``ObjectChange``s;
/// other properties are validated and skipped, never materialised. A duplicate key reads as its last
/// occurrence. Problems with single entries become ``Diagnostic``s and the entry is skipped; problems
/// with the page as a whole throw ``MalformedPageError``, which the retry policy treats like a
/// truncated body. The tests hold it to a `JSONSerialization` reference reader on fixtures and on
/// thousands of generated and mutated pages: the same objects, patches, diagnostics and errors.
public enum DeltaPageDecoder {
    /// Decodes one page of `table`'s resource.
    /// - Throws: ``MalformedPageError`` when the body is not JSON, lacks `value`, or carries both or
    ///   neither of `@odata.nextLink` and `@odata.deltaLink`.
    public static func decode(_ bytes: [UInt8], table: FieldTable) throws(MalformedPageError) -> DeltaPage {
        try validate(bytes, table: table).objects()
    }

    /// Validates one page and reads its continuation; its objects are read by
    /// ``PendingDeltaPage/page()``. A round needs only the continuation to ask for the next page, so
    /// the larger part of decoding can overlap that request.
    /// - Parameter profiler: where the CPU spent decoding is counted.
    /// - Throws: ``MalformedPageError``, as ``decode(_:table:)`` does: a page that passes here always reads.
    public static func prepare(_ bytes: [UInt8], table: FieldTable, profiler: any Profiler) throws(MalformedPageError) -> PendingDeltaPage {
        profiler.pageRead()
        let validated = try profiler.measure(.decode) { () throws(MalformedPageError) in try validate(bytes, table: table) }
        return PendingDeltaPage(continuation: validated.continuation) { profiler.measure(.decode) { validated.objects() } }
    }

    /// Decodes one page of a plain (non-delta) list of `table`'s objects — `GET /users?$top=999`,
    /// `getByIds` — in which a relationship arrives expanded (`"manager": {"id": …}`) and the last page
    /// carries no link at all.
    /// - Throws: ``MalformedPageError`` when the body is not JSON, lacks `value`, or carries a deltaLink.
    public static func decodeList(_ bytes: [UInt8], table: FieldTable, profiler: any Profiler = NoProfiler()) throws(MalformedPageError) -> ListPage {
        profiler.pageRead()
        return try profiler.measure(.decode) { () throws(MalformedPageError) in
            let validated = try validate(bytes, table: table, shape: .list)
            let page = validated.objects()
            return ListPage(resource: table.resource, objects: page.objects, nextLink: validated.nextLink, diagnostics: page.diagnostics)
        }
    }

    /// The first half of decoding: validates the whole page and reads its continuation.
    static func validate(_ bytes: [UInt8], table: FieldTable, shape: PageShape = .delta) throws(MalformedPageError) -> ValidatedPage {
        let result: Result<ValidatedPage, MalformedPageError> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONSpanScanner(buffer)
            let root: JSONSpan
            do { root = try scanner.validateDocument() } catch {
                return .failure(MalformedPageError(reason: "the body is not valid JSON (truncated?)", byteCount: bytes.count))
            }
            guard root.kind == .object else {
                return .failure(MalformedPageError(reason: "the body is not a JSON object", byteCount: bytes.count))
            }
            var value: JSONSpan?
            var next: JSONSpan?
            var delta: JSONSpan?
            scanner.members(root) { key, span in
                if scanner.key(key, is: "value") { value = span }
                else if scanner.key(key, is: "@odata.nextLink") { next = span }
                else if scanner.key(key, is: "@odata.deltaLink") { delta = span }
            }
            guard let value, value.kind == .array else {
                return .failure(MalformedPageError(reason: "the page has no \"value\" array", byteCount: bytes.count))
            }
            let nextLink = next.flatMap { $0.kind == .string ? scanner.string($0) : nil }
            let deltaLink = delta.flatMap { $0.kind == .string ? scanner.string($0) : nil }
            if shape == .list {
                guard delta == nil else {
                    return .failure(MalformedPageError(reason: "a list page carries an @odata.deltaLink", byteCount: bytes.count))
                }
                if let nextLink, !StoredText.isUsableLink(nextLink) {
                    return .failure(MalformedPageError(reason: "the page's @odata.nextLink is not a usable link", byteCount: bytes.count))
                }
                if next != nil, nextLink == nil {
                    return .failure(MalformedPageError(reason: "the page's @odata.nextLink is not a string", byteCount: bytes.count))
                }
                return .success(ValidatedPage(bytes: bytes, table: table, shape: shape, value: value, continuation: nextLink.map(DeltaContinuation.next)))
            }
            let continuation: DeltaContinuation
            switch (nextLink, deltaLink) {
            case (let link?, nil) where delta == nil && StoredText.isUsableLink(link): continuation = .next(link)
            case (nil, let link?) where next == nil && StoredText.isUsableLink(link): continuation = .delta(link)
            case (.some, .some):
                return .failure(MalformedPageError(reason: "the page carries both @odata.nextLink and @odata.deltaLink", byteCount: bytes.count))
            default:
                return .failure(MalformedPageError(reason: "the page carries neither a usable @odata.nextLink nor @odata.deltaLink", byteCount: bytes.count))
            }
            return .success(ValidatedPage(bytes: bytes, table: table, shape: shape, value: value, continuation: continuation))
        }
        return try result.get()
    }
}

/// A delta response that cannot be read as a page at all. Retryable: a truncated or garbled body
/// usually reads fine on the next attempt.
public struct MalformedPageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the page, in plain words.
    public var reason: String
    /// The size of the body that failed to decode.
    public var byteCount: Int

    public init(reason: String, byteCount: Int) {
        self.reason = reason
        self.byteCount = byteCount
    }

    public var description: String { "malformed delta page (\(byteCount) bytes): \(reason)" }
}

/// Whether a page belongs to a delta round or to a plain list.
enum PageShape: Sendable {
    /// `@odata.nextLink` or `@odata.deltaLink`; relationships as `<name>@delta` arrays.
    case delta
    /// `@odata.nextLink` or nothing; relationships expanded as objects under their name.
    case list
}

/// A validated page: its continuation is known, its objects not yet read.
struct ValidatedPage: Sendable {
    let bytes: [UInt8]
    let table: FieldTable
    let shape: PageShape
    let value: JSONSpan
    /// `nil` only for the last page of a list.
    let storedContinuation: DeltaContinuation?

    init(bytes: [UInt8], table: FieldTable, shape: PageShape, value: JSONSpan, continuation: DeltaContinuation?) {
        self.bytes = bytes
        self.table = table
        self.shape = shape
        self.value = value
        self.storedContinuation = continuation
    }

    /// A delta page's continuation (always set for delta pages).
    var continuation: DeltaContinuation { storedContinuation! }

    /// A list page's nextLink, if more pages follow.
    var nextLink: String? { storedContinuation?.link }

    /// Reads the objects of `value`; entries that cannot be read become diagnostics.
    func objects() -> DeltaPage {
        let keys = KeyIndex(table, shape: shape)
        return bytes.withUnsafeBufferPointer { buffer in
            let scanner = JSONSpanScanner(buffer)
            var diagnostics: [Diagnostic] = []
            var objects: [ObjectChange] = []
            var index = 0
            var slots = [JSONSpan?](repeating: nil, count: keys.slotCount)
            scanner.elements(value) { element in
                defer { index += 1 }
                guard element.kind == .object else {
                    diagnostics.append(Diagnostic(code: "malformed-object", message: "\(table.resource.rawValue) entry #\(index) on the page is not a JSON object; skipped"))
                    return
                }
                for slot in slots.indices { slots[slot] = nil }
                scanner.members(element) { key, span in
                    if let slot = keys.slot(of: key, in: scanner) { slots[slot] = span }
                }
                var reader = SpanEntryReader(scanner: scanner, table: table, shape: shape, slots: slots)
                if let object = reader.read(diagnostics: &diagnostics) { objects.append(object) }
            }
            return DeltaPage(resource: table.resource, objects: objects, continuation: storedContinuation ?? .delta(""), diagnostics: diagnostics)
        }
    }
}

/// Finds a key's slot among a table's keys: first by byte length, then byte for byte. Slots are the
/// fields' positions, then `id`, `@removed` and `members@delta`. Operator-chosen properties also
/// match in any letter case: Graph reads `$select` without regard to case and answers with its own
/// spelling.
struct KeyIndex {
    let slotCount: Int
    let idSlot: Int
    let removedSlot: Int
    let membersSlot: Int
    /// Keys by their UTF-8 length.
    private let byLength: [Int: [(key: [UInt8], slot: Int)]]
    /// Operator-chosen properties by their lower-cased name.
    private let attributes: [String: Int]

    init(_ table: FieldTable, shape: PageShape = .delta) {
        let fieldCount = table.fields.count
        (idSlot, removedSlot, membersSlot, slotCount) = (fieldCount, fieldCount + 1, fieldCount + 2, fieldCount + 3)
        var keys = table.fields.enumerated().map { (Array((shape == .list ? $0.element.graphName : $0.element.key).utf8), $0.offset) }
        keys += [(Array("id".utf8), idSlot), (Array("@removed".utf8), removedSlot)]
        if table.readsMembers { keys.append((Array("members@delta".utf8), membersSlot)) }
        byLength = Dictionary(grouping: keys, by: \.0.count).mapValues { $0.map { (key: $0.0, slot: $0.1) } }
        attributes = Dictionary(table.fields.indices.dropFirst(table.contractFieldCount).map { (table.fields[$0].graphName.lowercased(), $0) },
                                uniquingKeysWith: { first, _ in first })
    }

    func slot(of key: JSONSpan, in scanner: JSONSpanScanner) -> Int? {
        if let raw = scanner.rawStringBytes(key) {
            if let candidates = byLength[raw.count] {
                for candidate in candidates where candidate.key.withUnsafeBufferPointer({ memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }) {
                    return candidate.slot
                }
            }
            return attributes.isEmpty ? nil : attributes[String(decoding: raw, as: UTF8.self).lowercased()]
        }
        // A key written with escapes: compare its decoded text.
        let text = scanner.string(key)
        return byLength[text.utf8.count]?.first { $0.key == Array(text.utf8) }?.slot ?? attributes[text.lowercased()]
    }
}

/// Reads one entry's slots into an ``ObjectChange``: Graph's absent/null/value distinction kept, NUL
/// characters removed (and reported), the first type mismatch remembered (it skips the object).
struct SpanEntryReader {
    let scanner: JSONSpanScanner
    let table: FieldTable
    let shape: PageShape
    let slots: [JSONSpan?]
    private var idText = "?"
    private var mismatch: String?
    /// Properties whose strings carried NUL characters, which were removed (PostgreSQL text cannot hold NUL).
    private var strippedNUL: [String] = []

    init(scanner: JSONSpanScanner, table: FieldTable, shape: PageShape = .delta, slots: [JSONSpan?]) {
        self.scanner = scanner
        self.table = table
        self.shape = shape
        self.slots = slots
    }

    private var resource: String { table.objectName }

    mutating func read(diagnostics: inout [Diagnostic]) -> ObjectChange? {
        let keys = (id: table.fields.count, removed: table.fields.count + 1, members: table.fields.count + 2)
        guard let span = slots[keys.id] else {
            diagnostics.append(Diagnostic(code: "missing-id", message: "a \(resource) entry without an \"id\" was skipped"))
            return nil
        }
        guard let id = scanner.uuid(span) else {
            diagnostics.append(Diagnostic(code: "invalid-id", message: "a \(resource) entry with id \(describe(span)) (not a GUID) was skipped"))
            return nil
        }
        idText = scanner.string(span)
        var object = ObjectChange(id: id, fieldCount: table.fields.count)
        for (index, field) in table.fields.enumerated() {
            object.values[index] = value(of: field, slots[index])
        }
        object.removed = removal(slots[keys.removed])
        if table.readsMembers { object.memberChanges = memberChanges(slots[keys.members], diagnostics: &diagnostics) }
        guard let mismatch else {
            if !strippedNUL.isEmpty {
                diagnostics.append(StoredText.nulStripped(resource: resource, id: idText, keys: strippedNUL))
            }
            return object
        }
        diagnostics.append(Diagnostic(code: "malformed-object", message: "\(resource) \(idText) was skipped: \(mismatch)"))
        return nil
    }

    private mutating func value(of field: Field, _ span: JSONSpan?) -> Patch<FieldValue> {
        guard let span else { return .absent }
        if span.kind == .null { return .null }
        let key = field.key
        switch field.kind {
        case .text:
            guard span.kind == .string else { return mismatched(key, span, expected: "a string") }
            return .value(.text(withoutNUL(scanner.string(span), key)))
        case .indexedText:
            guard span.kind == .string else { return mismatched(key, span, expected: "a string") }
            let text = withoutNUL(scanner.string(span), key)
            if let problem = StoredText.indexProblem(key, text) { mismatch = mismatch ?? problem }
            return .value(.text(text))
        case .timestamp:
            guard span.kind == .string else { return mismatched(key, span, expected: "a string") }
            let text = scanner.string(span)
            if let problem = StoredText.timestampProblem(key, text) { mismatch = mismatch ?? problem }
            return .value(.text(text))
        case .boolean:
            guard span.kind == .bool else { return mismatched(key, span, expected: "a boolean") }
            return .value(.boolean(scanner.bytes[span.start] == UInt8(ascii: "t")))
        case .textCollection:
            guard span.kind == .array else { return mismatched(key, span, expected: "an array of strings") }
            var strings: [String] = []
            var allStrings = true
            scanner.elements(span) { element in
                guard allStrings, element.kind == .string else { allStrings = false; return }
                strings.append(withoutNUL(scanner.string(element), key))
            }
            return allStrings ? .value(.texts(strings)) : mismatched(key, span, expected: "an array of strings")
        case .reference where shape == .list:
            // Expanded (`$expand=manager($select=id)`): the related object, or null for none.
            guard span.kind == .object else { return mismatched(field.graphName, span, expected: "an object") }
            var id: JSONSpan?
            scanner.members(span) { name, value in if scanner.key(name, is: "id") { id = value } }
            guard let id, let uuid = scanner.uuid(id) else {
                mismatch = mismatch ?? "\"\(field.graphName)\" names no object id"
                return .absent
            }
            return .value(.reference(uuid))
        case .reference:
            guard span.kind == .array else { return mismatched(key, span, expected: "an array") }
            // The last entry decides: an object carrying @removed clears the relationship; an empty list means none.
            var last: JSONSpan?
            scanner.elements(span) { last = $0 }
            guard let last else { return .null }
            guard last.kind == .object else { return mismatched(key, span, expected: "an array of objects") }
            var id: JSONSpan?
            var removed: JSONSpan?
            scanner.members(last) { name, value in
                if scanner.key(name, is: "id") { id = value } else if scanner.key(name, is: "@removed") { removed = value }
            }
            if let removed, removed.kind != .null { return .null }
            guard let id, let uuid = scanner.uuid(id) else {
                mismatch = mismatch ?? "\"\(key)\" names no object id"
                return .absent
            }
            return .value(.reference(uuid))
        case .attribute:
            var text = ""
            writeJSON(span, key: key, into: &text)
            return .value(.json(text))
        }
    }

    /// Writes the value at `span` as compact JSON (a trailing comma the scanner tolerates is dropped,
    /// strings are re-escaped without NUL characters, which PostgreSQL's jsonb cannot hold).
    private mutating func writeJSON(_ span: JSONSpan, key: String, into out: inout String) {
        switch span.kind {
        case .null: out.append("null")
        case .bool: out.append(scanner.bytes[span.start] == UInt8(ascii: "t") ? "true" : "false")
        case .number: out.append(scanner.rawText(span))
        case .string: JSONText.appendQuoted(withoutNUL(scanner.string(span), key), to: &out)
        case .array:
            out.append("[")
            var first = true
            scanner.elements(span) { element in
                if !first { out.append(",") }
                first = false
                writeJSON(element, key: key, into: &out)
            }
            out.append("]")
        case .object:
            out.append("{")
            var first = true
            scanner.members(span) { name, value in
                if !first { out.append(",") }
                first = false
                JSONText.appendQuoted(withoutNUL(scanner.string(name), key), to: &out)
                out.append(":")
                writeJSON(value, key: key, into: &out)
            }
            out.append("}")
        }
    }

    private mutating func withoutNUL(_ text: String, _ key: String) -> String {
        guard let cleaned = StoredText.removingNUL(text) else { return text }
        if strippedNUL.last != key { strippedNUL.append(key) }
        return cleaned
    }

    private mutating func mismatched(_ key: String, _ span: JSONSpan, expected: String) -> Patch<FieldValue> {
        mismatch = mismatch ?? "\"\(key)\" is \(describe(span)), expected \(expected)"
        return .absent
    }

    /// The `@removed` reason; an unknown reason counts as a hard delete, the safe reading.
    private mutating func removal(_ span: JSONSpan?) -> RemovalReason? {
        guard let span, span.kind != .null else { return nil }
        guard span.kind == .object else {
            mismatch = mismatch ?? "\"@removed\" is not an object"
            return nil
        }
        var reason: JSONSpan?
        scanner.members(span) { key, value in
            if scanner.key(key, is: "reason") { reason = value }
        }
        if let reason, reason.kind == .string, let known = RemovalReason(rawValue: scanner.string(reason)) { return known }
        return .deleted
    }

    /// The `members@delta` entries; bad entries are skipped with a diagnostic each.
    private mutating func memberChanges(_ span: JSONSpan?, diagnostics: inout [Diagnostic]) -> [MemberChange] {
        guard let span, span.kind != .null else { return [] }
        guard span.kind == .array else {
            mismatch = mismatch ?? "\"members@delta\" is not an array"
            return []
        }
        var changes: [MemberChange] = []
        let scanner = self.scanner, idText = self.idText
        scanner.elements(span) { element in
            guard element.kind == .object else {
                diagnostics.append(Diagnostic(code: "malformed-member", message: "a members@delta entry of group \(idText) is not a JSON object; skipped"))
                return
            }
            var id: JSONSpan?, type: JSONSpan?, removed: JSONSpan?
            scanner.members(element) { key, value in
                if scanner.key(key, is: "id") { id = value }
                else if scanner.key(key, is: "@odata.type") { type = value }
                else if scanner.key(key, is: "@removed") { removed = value }
            }
            guard let id, let memberID = scanner.uuid(id) else {
                diagnostics.append(Diagnostic(code: "invalid-member-id", message: "a member of group \(idText) with id \(Self.describe(id, scanner)) (not a GUID) was skipped"))
                return
            }
            guard let type, type.kind == .string, let memberType = Self.memberType(type, scanner) else {
                diagnostics.append(Diagnostic(code: "unknown-member-type", message: "member \(scanner.string(id)) of group \(idText) has type \(Self.describe(type, scanner)), which dirsync does not store; skipped"))
                return
            }
            changes.append(MemberChange(memberID: memberID, memberType: memberType, removed: removed.map { $0.kind != .null } ?? false))
        }
        return changes
    }

    private static func memberType(_ span: JSONSpan, _ scanner: JSONSpanScanner) -> MemberType? {
        if scanner.key(span, is: "#microsoft.graph.user") { return .user }
        if scanner.key(span, is: "#microsoft.graph.group") { return .group }
        return MemberType(odataType: scanner.string(span))
    }

    private func describe(_ span: JSONSpan) -> String { Self.describe(span, scanner) }

    /// A short, type-revealing rendering of a JSON value for diagnostics (strings truncated).
    static func describe(_ span: JSONSpan?, _ scanner: JSONSpanScanner) -> String {
        guard let span else { return "missing" }
        switch span.kind {
        case .null: return "null"
        case .string: return "\"\(scanner.string(span).prefix(64))\""
        case .bool: return scanner.bytes[span.start] == UInt8(ascii: "t") ? "true" : "false"
        case .number: return "the number \(scanner.numberText(span))"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
