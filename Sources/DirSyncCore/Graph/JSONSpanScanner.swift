import Foundation

/// The JSON type of a value found by ``JSONSpanScanner``.
enum JSONKind: UInt8, Sendable {
    case null, bool, number, string, array, object
}

/// Where one JSON value sits in the scanned bytes: `start` is its first byte, `end` one past its last.
struct JSONSpan: Sendable {
    var kind: JSONKind
    var start: Int
    var end: Int
}

/// A strict RFC 8259 scanner over UTF-8 bytes that validates a document once and then reads
/// values back by their ``JSONSpan`` without building a tree.
///
/// It accepts exactly what `JSONSerialization` accepts for the documents dirsync reads (checked by
/// differential tests): a UTF-8 byte order mark and one trailing comma in an object, but no other trailing commas, no comments, no leading zeros, no control characters
/// or invalid UTF-8 in strings, no unpaired surrogate escapes, at most 512 levels of nesting.
/// Reading a span back (``string(_:)``, ``members(_:_:)``, ``elements(_:_:)``) assumes the span came
/// from a successful ``validateDocument()``.
struct JSONSpanScanner {
    struct Invalid: Error {}

    let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    static let maximumDepth = 512

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: - Validation

    /// Validates the whole document and returns the span of its single top-level value.
    mutating func validateDocument() throws(Invalid) -> JSONSpan {
        // A UTF-8 byte order mark is skipped, as JSONSerialization does; a top-level scalar is invalid.
        position = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "{") || bytes[position] == UInt8(ascii: "[") else { throw Invalid() }
        let root = try value(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw Invalid() }
        return root
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws(Invalid) -> JSONSpan {
        guard position < bytes.count else { throw Invalid() }
        let start = position
        switch bytes[position] {
        case UInt8(ascii: "\""):
            try skipString()
            return JSONSpan(kind: .string, start: start, end: position)
        case UInt8(ascii: "{"):
            guard depth < Self.maximumDepth else { throw Invalid() }
            position += 1
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return JSONSpan(kind: .object, start: start, end: position)
            }
            while true {
                // JSONSerialization accepts one trailing comma before the closing brace, so this does too.
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return JSONSpan(kind: .object, start: start, end: position)
                }
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw Invalid() }
                try skipString()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw Invalid() }
                position += 1
                skipWhitespace()
                _ = try value(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw Invalid() }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    skipWhitespace()
                } else if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return JSONSpan(kind: .object, start: start, end: position)
                } else {
                    throw Invalid()
                }
            }
        case UInt8(ascii: "["):
            guard depth < Self.maximumDepth else { throw Invalid() }
            position += 1
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return JSONSpan(kind: .array, start: start, end: position)
            }
            while true {
                _ = try value(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw Invalid() }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    skipWhitespace()
                } else if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return JSONSpan(kind: .array, start: start, end: position)
                } else {
                    throw Invalid()
                }
            }
        case UInt8(ascii: "t"):
            try literal("true")
            return JSONSpan(kind: .bool, start: start, end: position)
        case UInt8(ascii: "f"):
            try literal("false")
            return JSONSpan(kind: .bool, start: start, end: position)
        case UInt8(ascii: "n"):
            try literal("null")
            return JSONSpan(kind: .null, start: start, end: position)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
            return JSONSpan(kind: .number, start: start, end: position)
        default:
            throw Invalid()
        }
    }

    private mutating func literal(_ word: StaticString) throws(Invalid) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw Invalid() }
        let expected = word.utf8Start
        for offset in 0..<count where bytes[position + offset] != expected[offset] { throw Invalid() }
        position += count
    }

    private mutating func skipNumber() throws(Invalid) {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw Invalid() }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            guard digits() > 0 else { throw Invalid() }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw Invalid() }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw Invalid() }
        }
        // A number JSONSerialization cannot represent (overflowing a Double) makes the document invalid.
        if position - start > 15 || bytes[start..<position].contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let double = Double(text), double.isFinite else { throw Invalid() }
        }
    }

    private mutating func digits() -> Int {
        let start = position
        while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
        return position - start
    }

    /// Skips a string at `position` (its opening quote), checking escapes and UTF-8.
    private mutating func skipString() throws(Invalid) {
        position += 1
        while true {
            // Most of a page is plain ASCII inside strings: pass it eight bytes at a time.
            while bytes.count - position >= 8, !Self.endsPlainRun(word(at: position)) { position += 8 }
            guard position < bytes.count else { break }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return
            } else if byte == UInt8(ascii: "\\") {
                position += 1
                guard position < bytes.count else { throw Invalid() }
                switch bytes[position] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    position += 1
                    let unit = try hex4()
                    if (0xD800..<0xDC00).contains(unit) {
                        guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else { throw Invalid() }
                        position += 2
                        guard (0xDC00..<0xE000).contains(try hex4()) else { throw Invalid() }
                    } else if (0xDC00..<0xE000).contains(unit) {
                        throw Invalid()
                    }
                default:
                    throw Invalid()
                }
            } else if byte < 0x20 {
                throw Invalid()
            } else if byte < 0x80 {
                position += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        throw Invalid()
    }

    /// The eight bytes at `index` as one word (any alignment).
    @inline(__always)
    private func word(at index: Int) -> UInt64 {
        UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self)
    }

    private static let lowBits: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any of the eight bytes packed in `word` ends a run of plain string bytes: a quote, a
    /// backslash, a control character (below 0x20) or a byte of a multi-byte UTF-8 sequence. Each test
    /// is the classic bit trick for "some byte is zero" (or "below n"): exact for the question "any?",
    /// which is all this asks, whatever the byte order of the load.
    @inline(__always)
    static func endsPlainRun(_ word: UInt64) -> Bool {
        let quote = word ^ (lowBits &* 0x22)
        let backslash = word ^ (lowBits &* 0x5C)
        let hasQuote = (quote &- lowBits) & ~quote
        let hasBackslash = (backslash &- lowBits) & ~backslash
        let hasControl = (word &- lowBits &* 0x20) & ~word
        return (hasQuote | hasBackslash | hasControl | word) & highBits != 0
    }

    private mutating func hex4() throws(Invalid) -> UInt32 {
        guard bytes.count - position >= 4 else { throw Invalid() }
        var unit: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Self.hexValue(bytes[position]) else { throw Invalid() }
            unit = unit << 4 | UInt32(digit)
            position += 1
        }
        return unit
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// One multi-byte UTF-8 sequence, well-formed per Unicode table 3-7 (no overlongs, no surrogates).
    private mutating func skipUTF8Sequence() throws(Invalid) {
        let lead = bytes[position]
        let count: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: count = 2
        case 0xE0: count = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3
        case 0xED: count = 3; upper = 0x9F
        case 0xF0: count = 4; lower = 0x90
        case 0xF1...0xF3: count = 4
        case 0xF4: count = 4; upper = 0x8F
        default: throw Invalid()
        }
        guard bytes.count - position >= count else { throw Invalid() }
        let second = bytes[position + 1]
        guard second >= lower, second <= upper else { throw Invalid() }
        for offset in 2..<max(2, count) where bytes[position + offset] & 0xC0 != 0x80 { throw Invalid() }
        position += count
    }

    // MARK: - Reading validated spans

    /// The bytes of a string span between its quotes, when it holds no escape (then they are the
    /// string's UTF-8 exactly); `nil` when it has escapes.
    func rawStringBytes(_ span: JSONSpan) -> UnsafeBufferPointer<UInt8>? {
        let inner = UnsafeBufferPointer(rebasing: bytes[(span.start + 1)..<(span.end - 1)])
        guard let base = inner.baseAddress, !inner.isEmpty else { return inner }
        return memchr(base, Int32(UInt8(ascii: "\\")), inner.count) == nil ? inner : nil
    }

    /// The decoded text of a validated string span.
    func string(_ span: JSONSpan) -> String {
        if let raw = rawStringBytes(span) { return String(decoding: raw, as: UTF8.self) }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(span.end - span.start)
        var index = span.start + 1
        let end = span.end - 1
        while index < end {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                index += 1
                continue
            }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(at: index)
                index += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    let low = hex4(at: index + 2)
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                utf8.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: utf8.append(escape)  // " \ /
            }
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    private func hex4(at index: Int) -> UInt32 {
        var unit: UInt32 = 0
        for offset in 0..<4 { unit = unit << 4 | UInt32(Self.hexValue(bytes[index + offset])!) }
        return unit
    }

    /// Calls `body` with each key span (a string) and value span of a validated object span.
    func members(_ object: JSONSpan, _ body: (JSONSpan, JSONSpan) -> Void) {
        var scanner = self
        scanner.position = object.start + 1
        scanner.skipWhitespace()
        guard scanner.bytes[scanner.position] != UInt8(ascii: "}") else { return }
        while true {
            let keyStart = scanner.position
            try! scanner.skipString()
            let key = JSONSpan(kind: .string, start: keyStart, end: scanner.position)
            scanner.skipWhitespace()
            scanner.position += 1  // :
            scanner.skipWhitespace()
            let value = try! scanner.value(depth: 0)
            body(key, value)
            scanner.skipWhitespace()
            if scanner.bytes[scanner.position] == UInt8(ascii: "}") { return }
            scanner.position += 1  // ,
            scanner.skipWhitespace()
            if scanner.bytes[scanner.position] == UInt8(ascii: "}") { return }
        }
    }

    /// Calls `body` with each element span of a validated array span.
    func elements(_ array: JSONSpan, _ body: (JSONSpan) -> Void) {
        var scanner = self
        scanner.position = array.start + 1
        scanner.skipWhitespace()
        guard scanner.bytes[scanner.position] != UInt8(ascii: "]") else { return }
        while true {
            body(try! scanner.value(depth: 0))
            scanner.skipWhitespace()
            if scanner.bytes[scanner.position] == UInt8(ascii: "]") { return }
            scanner.position += 1  // ,
            scanner.skipWhitespace()
        }
    }

    /// Whether a key span equals `name` (ASCII), decoding escapes only when the key has any.
    func key(_ span: JSONSpan, is name: StaticString) -> Bool {
        if let raw = rawStringBytes(span) {
            guard raw.count == name.utf8CodeUnitCount else { return false }
            return memcmp(raw.baseAddress!, name.utf8Start, raw.count) == 0
        }
        return string(span) == name.description
    }

    /// Parses a GUID exactly as `UUID(uuidString:)` does, with a fast path for the canonical form:
    /// 36 characters, hex digits of either case, hyphens after the 8th, 12th, 16th and 20th.
    func uuid(_ span: JSONSpan) -> UUID? {
        guard span.kind == .string else { return nil }
        // Only the canonical form is parsed here; anything else goes to Foundation, which accepts
        // some non-canonical spellings, so both decoders agree on every input.
        guard let raw = rawStringBytes(span), raw.count == 36 else { return UUID(uuidString: string(span)) }
        var out: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let ok = withUnsafeMutableBytes(of: &out) { target -> Bool in
            var index = 0
            for byteIndex in 0..<16 {
                if index == 8 || index == 13 || index == 18 || index == 23 {
                    guard raw[index] == UInt8(ascii: "-") else { return false }
                    index += 1
                }
                guard let high = Self.hexValue(raw[index]), let low = Self.hexValue(raw[index + 1]) else { return false }
                target[byteIndex] = high << 4 | low
                index += 2
            }
            return true
        }
        return ok ? UUID(uuid: out) : UUID(uuidString: string(span))
    }

    /// The bytes of a value exactly as the document spells them (a number's digits, for instance).
    func rawText(_ span: JSONSpan) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[span.start..<span.end]), as: UTF8.self)
    }

    /// A number as diagnostics print it (the way Foundation's `NSNumber` prints the value), so the
    /// message reads the same whichever JSON reader produced it.
    func numberText(_ span: JSONSpan) -> String {
        let data = Data(UnsafeBufferPointer(rebasing: bytes[span.start..<span.end]))
        guard let number = (try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)) as? NSNumber else {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[span.start..<span.end]), as: UTF8.self)
        }
        return "\(number)"
    }
}
