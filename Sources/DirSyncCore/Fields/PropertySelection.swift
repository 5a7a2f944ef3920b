import Foundation

/// The extra Graph properties an operator chose for one object type (`DIRSYNC_USER_PROPERTIES`,
/// `--user-properties`), checked before anything talks to Graph: names Graph could accept, each once,
/// none the contract already stores. Whether Graph knows a name is only learnt from its answer (a 400
/// "Could not find a property …", which fails that tenant alone).
public struct PropertySelection: Sendable, Equatable {
    /// The names, in the order given.
    public let names: [String]

    /// The most properties one object type may add: each one lengthens every delta request's URL.
    public static let maximumCount = 40

    /// A selection that cannot be used, with the fix.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses a comma-separated list (spaces around names ignored, empty list allowed) for `table`.
    /// - Parameter setting: how the operator set it (`DIRSYNC_USER_PROPERTIES`), for messages.
    public static func parse(_ text: String, for table: FieldTable, setting: String) throws(Invalid) -> PropertySelection {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if names == [""] { return PropertySelection(names: []) }
        guard table.storesAttributes else {
            throw Invalid(description: "\(setting): \(table.resource.rawValue) have no extra properties; leave it empty")
        }
        var seen: [String: String] = [:]
        let contract = Dictionary(table.contractFields.map { ($0.graphName.lowercased(), $0.column) }, uniquingKeysWith: { first, _ in first })
        for name in names {
            guard !name.isEmpty else {
                throw Invalid(description: "\(setting) has an empty name (two commas in a row, or a trailing comma): list Graph property names separated by single commas")
            }
            guard isGraphPropertyName(name) else {
                throw Invalid(description: "\(setting): '\(name)' is not a Graph property name: use names like employeeHireDate, onPremisesExtensionAttributes or extension_<application id without dashes>_<name>")
            }
            let key = name.lowercased()
            if ["id", "members", "@odata.type"].contains(key) {
                throw Invalid(description: "\(setting): '\(name)' is always read; remove it from the list")
            }
            if let column = contract[key] {
                throw Invalid(description: "\(setting): '\(name)' is already stored in directory.\(table.resource.rawValue).\(column); remove it from the list")
            }
            if let first = seen[key] {
                throw Invalid(description: "\(setting) names '\(first)' twice; list each property once")
            }
            seen[key] = name
        }
        guard names.count <= maximumCount else {
            throw Invalid(description: "\(setting) names \(names.count) properties; at most \(maximumCount) are allowed per object type")
        }
        return PropertySelection(names: names)
    }

    /// `displayName`-style names (letters and digits, starting with a letter) and directory
    /// extensions, `extension_` + the owning application's id as 32 hex digits + `_` + a name.
    static func isGraphPropertyName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func isLetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) }
        func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20) }
        guard let first = bytes.first, isLetter(first), bytes.count <= 120 else { return false }
        if name.hasPrefix("extension_") {
            let rest = bytes.dropFirst("extension_".count)
            guard rest.count > 34, rest.prefix(32).allSatisfy(isHex), rest.dropFirst(32).first == UInt8(ascii: "_") else { return false }
            let tail = rest.dropFirst(33)
            return tail.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
        }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) }
    }
}
