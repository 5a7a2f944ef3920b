/// What of Graph's strings PostgreSQL can store. Both delta page readers (the byte-level one and the
/// `JSONSerialization` reference) apply these rules, so they are written once, here.
package enum StoredText {
    /// Longest value (bytes) of an indexed column (`userPrincipalName`, `mail`): a btree entry must fit
    /// in a third of a page. Graph's own limits are far below (113 to 256 characters).
    package static let indexedByteLimit = 2000

    /// `text` without its NUL characters (PostgreSQL text cannot hold them), or `nil` when it had none.
    package static func removingNUL(_ text: String) -> String? {
        guard text.utf8.contains(0) else { return nil }
        return String(decoding: text.utf8.filter { $0 != 0 }, as: UTF8.self)
    }

    /// Why `text` cannot be stored in the indexed column `key`, or `nil` when it can.
    package static func indexProblem(_ key: String, _ text: String) -> String? {
        let bytes = text.utf8.count
        return bytes > indexedByteLimit ? "\"\(key)\" is \(bytes) bytes long, more than the \(indexedByteLimit) PostgreSQL can index" : nil
    }

    /// Why `text` is not an ISO 8601 instant PostgreSQL reads unambiguously (`2024-05-01T08:30:00Z`,
    /// optionally with a fraction and a `±hh:mm` offset), or `nil` when it is one.
    package static func timestampProblem(_ key: String, _ text: String) -> String? {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.upperBound <= bytes.count && bytes[range].allSatisfy { (0x30...0x39).contains($0) } }
        func byte(_ index: Int, _ ascii: Unicode.Scalar) -> Bool { index < bytes.count && bytes[index] == UInt8(ascii: ascii) }
        var ok = digits(0..<4) && byte(4, "-") && digits(5..<7) && byte(7, "-") && digits(8..<10) && byte(10, "T")
            && digits(11..<13) && byte(13, ":") && digits(14..<16) && byte(16, ":") && digits(17..<19)
        var index = 19
        if ok, byte(index, ".") {
            index += 1
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            ok = index > start
        }
        if ok {
            if byte(index, "Z") {
                ok = index + 1 == bytes.count
            } else if byte(index, "+") || byte(index, "-") {
                ok = digits(index + 1..<index + 3) && byte(index + 3, ":") && digits(index + 4..<index + 6) && index + 6 == bytes.count
            } else {
                ok = false
            }
        }
        return ok ? nil : "\"\(key)\" is \"\(text.prefix(40))\", not an ISO 8601 date and time"
    }

    /// Whether a nextLink/deltaLink can be followed and stored as a resume point.
    package static func isUsableLink(_ link: String) -> Bool { !link.isEmpty && !link.utf8.contains(0) }

    /// The diagnostic for an object whose properties `keys` had NUL characters removed.
    package static func nulStripped(resource: String, id: String, keys: [String]) -> Diagnostic {
        Diagnostic(code: "nul-stripped", message: "\(resource) \(id): NUL characters removed from \(keys.joined(separator: ", ")) (PostgreSQL text cannot store them)")
    }
}
