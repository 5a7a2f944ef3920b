/// The value of a user's `onPremisesExtensionAttributes`: `extensionAttribute1` … `extensionAttribute15`,
/// each a string or null.
///
/// A change to any key changes the property, and delta returns it whole, all fifteen keys (graph-sim's choice:
/// Graph's documentation shows no minimal response for a complex property).
public struct ExtensionAttributes: Sendable, Equatable {
    /// The fifteen slots; index 0 is `extensionAttribute1`.
    public var values: [String?]

    /// The number of attributes Graph defines.
    public static let count = 15

    /// The JSON key of slot `index` (`extensionAttribute1` for 0).
    public static func key(_ index: Int) -> String { "extensionAttribute\(index + 1)" }

    /// The slot of a JSON key, or nil if it is not one of the fifteen.
    public static func slot(of key: String) -> Int? {
        guard key.hasPrefix("extensionAttribute"), let n = Int(key.dropFirst(18)), (1...count).contains(n) else { return nil }
        return n - 1
    }

    /// All fifteen null.
    public init() { values = Array(repeating: nil, count: Self.count) }

    /// Wraps fifteen values.
    public init(_ values: [String?]) {
        precondition(values.count == Self.count, "onPremisesExtensionAttributes has fifteen slots")
        self.values = values
    }

    /// Writes the object with every key, `null` for empty slots, as Graph does.
    func write(_ w: inout JSONWriter, key: String? = nil) {
        w.beginObject(key)
        for (i, value) in values.enumerated() { w.stringOrNull(value, key: Self.key(i)) }
        w.endObject()
    }
}
