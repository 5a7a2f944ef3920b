import Foundation

/// A property's value as a delta page carried it (the ``FieldKind`` says which case).
public enum FieldValue: Sendable, Hashable {
    /// A string; also an ISO 8601 instant for ``FieldKind/timestamp``.
    case text(String)
    case boolean(Bool)
    case texts([String])
    /// A related object's id (``FieldKind/reference``).
    case reference(UUID)
    /// Any JSON value as compact JSON text (``FieldKind/attribute``).
    case json(String)
}

extension FieldValue: ExpressibleByStringInterpolation, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(stringInterpolation: DefaultStringInterpolation) { self = .text(String(stringInterpolation: stringInterpolation)) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(arrayLiteral elements: String...) { self = .texts(elements) }
}

extension FieldValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .text(let text): "\"\(text)\""
        case .boolean(let value): "\(value)"
        case .texts(let texts): "\(texts)"
        case .reference(let id): id.uuidString.lowercased()
        case .json(let text): text
        }
    }
}
