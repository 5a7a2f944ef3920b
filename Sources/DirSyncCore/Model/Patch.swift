/// One property of a Graph object as a delta page carried it.
///
/// Graph distinguishes three cases that a plain `Optional` would collapse:
/// - the property is **absent**: it did not change (incremental round with `Prefer: return=minimal`)
///   or was never set; the stored column must stay as it is;
/// - the property is an explicit JSON **null**: it was cleared; the column becomes NULL;
/// - the property has a **value**: the column takes it.
public enum Patch<Value: Sendable & Equatable>: Sendable, Equatable {
    /// The property was not in the object.
    case absent
    /// The property was present with the JSON value `null`.
    case null
    /// The property was present with a value.
    case value(Value)

    /// Whether the property was present at all (as a value or as `null`).
    public var isPresent: Bool {
        if case .absent = self { return false }
        return true
    }

    /// The value a column should hold after applying this patch over `current`.
    /// - Parameter current: the column's value before the patch.
    /// - Returns: `current` when absent, `nil` when null, the value otherwise.
    public func applied(to current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .null: nil
        case .value(let value): value
        }
    }
}

extension Patch: CustomStringConvertible {
    public var description: String {
        switch self {
        case .absent: "absent"
        case .null: "null"
        case .value(let value): "\(value)"
        }
    }
}
