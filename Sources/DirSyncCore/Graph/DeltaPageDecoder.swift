import Foundation

/// Turns the bytes of a Graph delta response into a ``DeltaPage``.
///
/// The one place that knows the wire format of a delta page. Pages are read by the byte-level
/// decoder (``decodeSpans(_:as:)``); the `JSONSerialization` reader (``decodeWithFoundation(_:as:)``)
/// is the reference it is tested against. Problems with single entries become ``Diagnostic``s and the entry
/// is skipped; problems with the page as a whole throw ``MalformedPageError``, which the retry policy
/// treats like a truncated body.
public enum DeltaPageDecoder {
    /// Decodes one page.
    /// - Parameters:
    ///   - bytes: the response body.
    ///   - type: ``UserChange`` or ``GroupChange``.
    /// - Returns: the objects, the continuation link and the diagnostics.
    /// - Throws: ``MalformedPageError`` when the body is not JSON, lacks `value`, or carries both or
    ///   neither of `@odata.nextLink` and `@odata.deltaLink`.
    public static func decode<Object: DeltaObject>(_ bytes: [UInt8], as type: Object.Type = Object.self) throws(MalformedPageError) -> DeltaPage<Object> {
        try prepare(bytes, as: type, profiler: NoProfiler()).objects()
    }

    /// Validates one page and reads its continuation; its objects are read by
    /// ``PreparedDeltaPage/objects()``. A round needs only the continuation to ask for the next page,
    /// so the larger part of decoding can overlap that request.
    /// - Parameter profiler: where the CPU spent decoding is counted.
    /// - Throws: ``MalformedPageError``, as ``decode(_:as:)`` does: a page that passes here always reads.
    public static func prepare<Object: DeltaObject>(_ bytes: [UInt8], as type: Object.Type = Object.self,
                                                    profiler: any Profiler) throws(MalformedPageError) -> PreparedDeltaPage<Object> {
        profiler.pageRead()
        return try profiler.measure(.decode) { () throws(MalformedPageError) -> PreparedDeltaPage<Object> in
            let validated = try validateSpans(bytes, as: type)
            return PreparedDeltaPage(continuation: validated.continuation, profiler: profiler) { validated.objects() }
        }
    }

    /// The reference decoder over `JSONSerialization`.
    static func decodeWithFoundation<Object: DeltaObject>(_ bytes: [UInt8], as type: Object.Type = Object.self) throws(MalformedPageError) -> DeltaPage<Object> {
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
        var objects: [Object] = []
        objects.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let entry = value as? [String: Any] else {
                diagnostics.append(Diagnostic(code: "malformed-object", message: "\(Object.resource.rawValue) entry #\(index) on the page is not a JSON object; skipped"))
                continue
            }
            if let object = Object.decode(entry, diagnostics: &diagnostics) { objects.append(object) }
        }
        return DeltaPage(objects: objects, continuation: continuation, diagnostics: diagnostics)
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

/// Reads typed properties out of one JSONSerialization entry, keeping Graph's absent/null/value
/// distinction and remembering the first type mismatch.
struct DeltaEntryReader {
    let entry: [String: Any]
    let resource: String
    private(set) var idText = "?"
    private var mismatch: String?
    /// Properties whose strings carried NUL characters, which were removed (PostgreSQL text cannot hold NUL).
    private var strippedNUL: [String] = []

    init(entry: [String: Any], resource: String) {
        self.entry = entry
        self.resource = resource
    }

    /// The object's `id` as a UUID, or `nil` after a diagnostic.
    mutating func objectID(diagnostics: inout [Diagnostic]) -> UUID? {
        guard let raw = entry["id"] else {
            diagnostics.append(Diagnostic(code: "missing-id", message: "a \(resource) entry without an \"id\" was skipped"))
            return nil
        }
        guard let text = raw as? String, let id = UUID(uuidString: text) else {
            diagnostics.append(Diagnostic(code: "invalid-id", message: "a \(resource) entry with id \(Self.describe(raw)) (not a GUID) was skipped"))
            return nil
        }
        idText = text
        return id
    }

    /// A string property. NUL characters are removed (and reported by ``finish(diagnostics:)``):
    /// PostgreSQL rejects them in text, so keeping them would make the page fail on every retry.
    mutating func string(_ key: String) -> Patch<String> {
        let result = patch(key, expected: "a string") { $0 as? String }
        guard case .value(let text) = result, let cleaned = StoredText.removingNUL(text) else { return result }
        strippedNUL.append(key)
        return .value(cleaned)
    }

    mutating func bool(_ key: String) -> Patch<Bool> {
        patch(key, expected: "a boolean") { JSONValue.bool($0) }
    }

    /// A string property that PostgreSQL indexes (`userPrincipalName`, `mail`): a value longer than
    /// `maxBytes` cannot be indexed and would fail its page on every retry, so the object is skipped
    /// with a diagnostic instead. Graph's own limits are far below (113 to 256 characters).
    mutating func indexedString(_ key: String) -> Patch<String> {
        let result = string(key)
        if case .value(let text) = result, let problem = StoredText.indexProblem(key, text) { mismatch = mismatch ?? problem }
        return result
    }

    /// An array-of-strings property; NUL characters are removed as in ``string(_:)``.
    mutating func stringArray(_ key: String) -> Patch<[String]> {
        let result = patch(key, expected: "an array of strings") { (value: Any) -> [String]? in
            guard let array = value as? [Any] else { return nil }
            var strings: [String] = []
            strings.reserveCapacity(array.count)
            for element in array {
                guard let string = element as? String else { return nil }
                strings.append(string)
            }
            return strings
        }
        guard case .value(let strings) = result, strings.contains(where: { StoredText.removingNUL($0) != nil }) else { return result }
        strippedNUL.append(key)
        return .value(strings.map { StoredText.removingNUL($0) ?? $0 })
    }

    /// The `@removed` reason; an unknown reason counts as a hard delete, the safe reading.
    mutating func removal() -> RemovalReason? {
        guard let raw = entry["@removed"], !(raw is NSNull) else { return nil }
        guard let removed = raw as? [String: Any] else {
            mismatch = mismatch ?? "\"@removed\" is not an object"
            return nil
        }
        if let reason = removed["reason"] as? String, let known = RemovalReason(rawValue: reason) { return known }
        return .deleted
    }

    /// The `members@delta` entries; bad entries are skipped with a diagnostic each.
    mutating func memberChanges(groupID: UUID, diagnostics: inout [Diagnostic]) -> [MemberChange] {
        guard let raw = entry["members@delta"], !(raw is NSNull) else { return [] }
        guard let list = raw as? [Any] else {
            mismatch = mismatch ?? "\"members@delta\" is not an array"
            return []
        }
        var changes: [MemberChange] = []
        changes.reserveCapacity(list.count)
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

    /// `true` when every property had the expected JSON type; otherwise appends a diagnostic.
    func finish(diagnostics: inout [Diagnostic]) -> Bool {
        guard let mismatch else {
            if !strippedNUL.isEmpty {
                diagnostics.append(StoredText.nulStripped(resource: resource, id: idText, keys: strippedNUL))
            }
            return true
        }
        diagnostics.append(Diagnostic(code: "malformed-object", message: "\(resource) \(idText) was skipped: \(mismatch)"))
        return false
    }

    private mutating func patch<T>(_ key: String, expected: String, _ convert: (Any) -> T?) -> Patch<T> {
        guard let raw = entry[key] else { return .absent }
        if raw is NSNull { return .null }
        if let value = convert(raw) { return .value(value) }
        mismatch = mismatch ?? "\"\(key)\" is \(Self.describe(raw)), expected \(expected)"
        return .absent
    }

    /// A short, type-revealing rendering of a JSON value for diagnostics (strings truncated).
    static func describe(_ value: Any?) -> String {
        switch value {
        case nil: "missing"
        case is NSNull: "null"
        case let string as String: "\"\(string.prefix(64))\""
        case let value?:
            if let bool = JSONValue.bool(value) { "\(bool)" }
            else if let number = value as? NSNumber { "the number \(number)" }
            else if value is [Any] { "an array" }
            else if value is [String: Any] { "an object" }
            else { "an unexpected value" }
        }
    }
}

/// Helpers for values produced by JSONSerialization.
enum JSONValue {
    /// A JSON `true`/`false`, distinguished from the numbers `1`/`0` (which also bridge to `Bool`).
    static func bool(_ value: Any) -> Bool? {
        guard let number = value as? NSNumber else { return nil }
        // JSONSerialization creates booleans as NSNumber with ObjC type "c" (char); JSON numbers come
        // as "q"/"i"/"d" and must not be read as booleans.
        guard String(cString: number.objCType) == "c" else { return nil }
        return number.boolValue
    }

    /// A JSON integer (not a boolean, not fractional).
    static func int(_ value: Any?) -> Int? {
        guard let value, bool(value) == nil, let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9e15 else { return nil }
        return number.intValue
    }

    /// Parses bytes as a JSON object, or `nil`.
    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }
}

/// A delta page that was validated and whose continuation is known; its objects are read on demand.
public struct PreparedDeltaPage<Object: DeltaObject>: Sendable {
    /// The page's nextLink or deltaLink.
    public let continuation: DeltaContinuation
    private let profiler: any Profiler
    private let read: @Sendable () -> DeltaPage<Object>

    init(continuation: DeltaContinuation, profiler: any Profiler, read: @escaping @Sendable () -> DeltaPage<Object>) {
        self.continuation = continuation
        self.profiler = profiler
        self.read = read
    }

    /// Reads the page's objects (entries that cannot be read become diagnostics).
    public func objects() -> DeltaPage<Object> {
        profiler.measure(.decode) { read() }
    }
}
