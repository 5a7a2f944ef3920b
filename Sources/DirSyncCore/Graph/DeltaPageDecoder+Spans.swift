import Foundation

/// The byte-level delta page decoder: validates the page with ``JSONSpanScanner`` and reads only the
/// properties dirsync stores, straight into ``UserChange`` and ``GroupChange``.
///
/// It mirrors ``DeltaPageDecoder/decodeWithFoundation(_:as:)`` exactly — the same objects, the same
/// absent/null/value patches, the same diagnostics in the same order, the same errors — which the
/// differential tests check on fixtures and on thousands of generated and mutated pages. Unknown
/// properties are validated and skipped, never materialized. A duplicate key reads as its last
/// occurrence, like `JSONSerialization`.
extension DeltaPageDecoder {
    static func decodeSpans<Object: DeltaObject>(_ bytes: [UInt8], as type: Object.Type) throws(MalformedPageError) -> DeltaPage<Object> {
        try validateSpans(bytes, as: type).objects()
    }

    /// The first half of decoding: validates the whole page and reads its continuation, leaving the
    /// objects in `value` to ``ValidatedSpans/objects()``.
    static func validateSpans<Object: DeltaObject>(_ bytes: [UInt8], as type: Object.Type) throws(MalformedPageError) -> ValidatedSpans<Object> {
        let result: Result<ValidatedSpans<Object>, MalformedPageError> = bytes.withUnsafeBufferPointer { buffer in
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
            let continuation: DeltaContinuation
            switch (nextLink, deltaLink) {
            case (let link?, nil) where delta == nil && StoredText.isUsableLink(link): continuation = .next(link)
            case (nil, let link?) where next == nil && StoredText.isUsableLink(link): continuation = .delta(link)
            case (.some, .some):
                return .failure(MalformedPageError(reason: "the page carries both @odata.nextLink and @odata.deltaLink", byteCount: bytes.count))
            default:
                return .failure(MalformedPageError(reason: "the page carries neither a usable @odata.nextLink nor @odata.deltaLink", byteCount: bytes.count))
            }
            return .success(ValidatedSpans(bytes: bytes, value: value, continuation: continuation))
        }
        return try result.get()
    }
}

/// A page the byte-level decoder validated: its continuation is known, its objects not yet read.
struct ValidatedSpans<Object: DeltaObject>: Sendable {
    let bytes: [UInt8]
    let value: JSONSpan
    let continuation: DeltaContinuation

    /// Reads the objects of `value`; entries that cannot be read become diagnostics.
    func objects() -> DeltaPage<Object> {
        bytes.withUnsafeBufferPointer { buffer in
            let scanner = JSONSpanScanner(buffer)
            var diagnostics: [Diagnostic] = []
            var objects: [Object] = []
            var index = 0
            var slots = [JSONSpan?](repeating: nil, count: SpanEntryReader.slotCount)
            scanner.elements(value) { element in
                defer { index += 1 }
                guard element.kind == .object else {
                    diagnostics.append(Diagnostic(code: "malformed-object", message: "\(Object.resource.rawValue) entry #\(index) on the page is not a JSON object; skipped"))
                    return
                }
                for slot in slots.indices { slots[slot] = nil }
                let isUser = Object.resource == .users
                scanner.members(element) { key, span in
                    if let slot = SpanEntryReader.slot(of: key, users: isUser, scanner: scanner) { slots[slot] = span }
                }
                var reader = SpanEntryReader(scanner: scanner, slots: slots, resource: isUser ? "user" : "group")
                if isUser {
                    if let user = reader.user(diagnostics: &diagnostics) { objects.append(user as! Object) }
                } else {
                    if let group = reader.group(diagnostics: &diagnostics) { objects.append(group as! Object) }
                }
            }
            return DeltaPage(objects: objects, continuation: continuation, diagnostics: diagnostics)
        }
    }
}

/// ``DeltaEntryReader`` over spans: the same reading rules, the same diagnostics.
struct SpanEntryReader {
    // Slots: the properties of both object types, by position.
    static let id = 0, removed = 1
    static let userPrincipalName = 2, displayName = 3, givenName = 4, surname = 5, mail = 6, jobTitle = 7,
               department = 8, accountEnabled = 9, userType = 10, proxyAddresses = 11
    static let description = 12, mailNickname = 13, mailEnabled = 14, securityEnabled = 15, groupTypes = 16, membersDelta = 17
    static let slotCount = 18

    static func slot(of key: JSONSpan, users: Bool, scanner: JSONSpanScanner) -> Int? {
        if scanner.key(key, is: "id") { return id }
        if scanner.key(key, is: "displayName") { return displayName }
        if scanner.key(key, is: "mail") { return mail }
        if scanner.key(key, is: "@removed") { return removed }
        if users {
            if scanner.key(key, is: "userPrincipalName") { return userPrincipalName }
            if scanner.key(key, is: "givenName") { return givenName }
            if scanner.key(key, is: "surname") { return surname }
            if scanner.key(key, is: "jobTitle") { return jobTitle }
            if scanner.key(key, is: "department") { return department }
            if scanner.key(key, is: "accountEnabled") { return accountEnabled }
            if scanner.key(key, is: "userType") { return userType }
            if scanner.key(key, is: "proxyAddresses") { return proxyAddresses }
        } else {
            if scanner.key(key, is: "description") { return description }
            if scanner.key(key, is: "mailNickname") { return mailNickname }
            if scanner.key(key, is: "mailEnabled") { return mailEnabled }
            if scanner.key(key, is: "securityEnabled") { return securityEnabled }
            if scanner.key(key, is: "groupTypes") { return groupTypes }
            if scanner.key(key, is: "members@delta") { return membersDelta }
        }
        return nil
    }

    let scanner: JSONSpanScanner
    let slots: [JSONSpan?]
    let resource: String
    private var idText = "?"
    private var mismatch: String?
    /// Properties whose strings carried NUL characters, which were removed (PostgreSQL text cannot hold NUL).
    private var strippedNUL: [String] = []

    init(scanner: JSONSpanScanner, slots: [JSONSpan?], resource: String) {
        self.scanner = scanner
        self.slots = slots
        self.resource = resource
    }

    mutating func user(diagnostics: inout [Diagnostic]) -> UserChange? {
        guard let id = objectID(diagnostics: &diagnostics) else { return nil }
        var user = UserChange(id: id)
        user.userPrincipalName = indexedString(Self.userPrincipalName, "userPrincipalName")
        user.displayName = string(Self.displayName, "displayName")
        user.givenName = string(Self.givenName, "givenName")
        user.surname = string(Self.surname, "surname")
        user.mail = indexedString(Self.mail, "mail")
        user.jobTitle = string(Self.jobTitle, "jobTitle")
        user.department = string(Self.department, "department")
        user.accountEnabled = bool(Self.accountEnabled, "accountEnabled")
        user.userType = string(Self.userType, "userType")
        user.proxyAddresses = stringArray(Self.proxyAddresses, "proxyAddresses")
        user.removed = removal()
        guard finish(diagnostics: &diagnostics) else { return nil }
        return user
    }

    mutating func group(diagnostics: inout [Diagnostic]) -> GroupChange? {
        guard let id = objectID(diagnostics: &diagnostics) else { return nil }
        var group = GroupChange(id: id)
        group.displayName = string(Self.displayName, "displayName")
        group.description = string(Self.description, "description")
        group.mail = indexedString(Self.mail, "mail")
        group.mailNickname = string(Self.mailNickname, "mailNickname")
        group.mailEnabled = bool(Self.mailEnabled, "mailEnabled")
        group.securityEnabled = bool(Self.securityEnabled, "securityEnabled")
        group.groupTypes = stringArray(Self.groupTypes, "groupTypes")
        group.removed = removal()
        group.memberChanges = memberChanges(diagnostics: &diagnostics)
        guard finish(diagnostics: &diagnostics) else { return nil }
        return group
    }

    private mutating func objectID(diagnostics: inout [Diagnostic]) -> UUID? {
        guard let span = slots[Self.id] else {
            diagnostics.append(Diagnostic(code: "missing-id", message: "a \(resource) entry without an \"id\" was skipped"))
            return nil
        }
        guard let id = scanner.uuid(span) else {
            diagnostics.append(Diagnostic(code: "invalid-id", message: "a \(resource) entry with id \(describe(span)) (not a GUID) was skipped"))
            return nil
        }
        idText = scanner.string(span)
        return id
    }

    /// A string property; NUL characters are removed and reported, as in the reference reader.
    private mutating func string(_ slot: Int, _ key: String) -> Patch<String> {
        guard let span = slots[slot] else { return .absent }
        switch span.kind {
        case .null: return .null
        case .string: return .value(withoutNUL(scanner.string(span), key))
        default: return mismatched(key, span, expected: "a string")
        }
    }

    /// A string property PostgreSQL indexes: too long a value skips the object (it could never be stored).
    private mutating func indexedString(_ slot: Int, _ key: String) -> Patch<String> {
        let result = string(slot, key)
        if case .value(let text) = result, let problem = StoredText.indexProblem(key, text) { mismatch = mismatch ?? problem }
        return result
    }

    private mutating func withoutNUL(_ text: String, _ key: String) -> String {
        guard let cleaned = StoredText.removingNUL(text) else { return text }
        if strippedNUL.last != key { strippedNUL.append(key) }
        return cleaned
    }

    private mutating func bool(_ slot: Int, _ key: String) -> Patch<Bool> {
        guard let span = slots[slot] else { return .absent }
        switch span.kind {
        case .null: return .null
        case .bool: return .value(scanner.bytes[span.start] == UInt8(ascii: "t"))
        default: return mismatched(key, span, expected: "a boolean")
        }
    }

    private mutating func stringArray(_ slot: Int, _ key: String) -> Patch<[String]> {
        guard let span = slots[slot] else { return .absent }
        switch span.kind {
        case .null: return .null
        case .array:
            var strings: [String] = []
            var allStrings = true
            scanner.elements(span) { element in
                guard allStrings, element.kind == .string else { allStrings = false; return }
                strings.append(withoutNUL(scanner.string(element), key))
            }
            return allStrings ? .value(strings) : mismatched(key, span, expected: "an array of strings")
        default: return mismatched(key, span, expected: "an array of strings")
        }
    }

    private mutating func mismatched<T>(_ key: String, _ span: JSONSpan, expected: String) -> Patch<T> {
        mismatch = mismatch ?? "\"\(key)\" is \(describe(span)), expected \(expected)"
        return .absent
    }

    private mutating func removal() -> RemovalReason? {
        guard let span = slots[Self.removed], span.kind != .null else { return nil }
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

    private mutating func memberChanges(diagnostics: inout [Diagnostic]) -> [MemberChange] {
        guard let span = slots[Self.membersDelta], span.kind != .null else { return [] }
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

    private func finish(diagnostics: inout [Diagnostic]) -> Bool {
        guard let mismatch else {
            if !strippedNUL.isEmpty {
                diagnostics.append(StoredText.nulStripped(resource: resource, id: idText, keys: strippedNUL))
            }
            return true
        }
        diagnostics.append(Diagnostic(code: "malformed-object", message: "\(resource) \(idText) was skipped: \(mismatch)"))
        return false
    }

    private func describe(_ span: JSONSpan) -> String { Self.describe(span, scanner) }

    /// The diagnostic rendering of ``DeltaEntryReader/describe(_:)``, from the Foundation value of the span.
    private static func describe(_ span: JSONSpan?, _ scanner: JSONSpanScanner) -> String {
        guard let span else { return DeltaEntryReader.describe(nil) }
        if span.kind == .string { return DeltaEntryReader.describe(scanner.string(span)) }
        return DeltaEntryReader.describe(scanner.foundationValue(span) ?? NSNull())
    }
}
