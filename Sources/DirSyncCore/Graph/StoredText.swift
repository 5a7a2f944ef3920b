/// What of Graph's strings PostgreSQL can store. Both delta page readers (the byte-level one and the
/// `JSONSerialization` reference) apply these rules, so they are written once, here.
enum StoredText {
    /// Longest value (bytes) of an indexed column (`userPrincipalName`, `mail`): a btree entry must fit
    /// in a third of a page. Graph's own limits are far below (113 to 256 characters).
    static let indexedByteLimit = 2000

    /// `text` without its NUL characters (PostgreSQL text cannot hold them), or `nil` when it had none.
    static func removingNUL(_ text: String) -> String? {
        guard text.utf8.contains(0) else { return nil }
        return String(decoding: text.utf8.filter { $0 != 0 }, as: UTF8.self)
    }

    /// Why `text` cannot be stored in the indexed column `key`, or `nil` when it can.
    static func indexProblem(_ key: String, _ text: String) -> String? {
        let bytes = text.utf8.count
        return bytes > indexedByteLimit ? "\"\(key)\" is \(bytes) bytes long, more than the \(indexedByteLimit) PostgreSQL can index" : nil
    }

    /// Whether a nextLink/deltaLink can be followed and stored as a resume point.
    static func isUsableLink(_ link: String) -> Bool { !link.isEmpty && !link.utf8.contains(0) }

    /// The diagnostic for an object whose properties `keys` had NUL characters removed.
    static func nulStripped(resource: String, id: String, keys: [String]) -> Diagnostic {
        Diagnostic(code: "nul-stripped", message: "\(resource) \(id): NUL characters removed from \(keys.joined(separator: ", ")) (PostgreSQL text cannot store them)")
    }
}
