import Foundation

/// A parsed JSON document, used for control-API bodies and scenario files.
///
/// Numbers keep the distinction the control API needs: `true`/`false` never decode as numbers.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses `bytes` as one JSON document.
    /// - Throws: `SimulatorInputError` when the bytes are not JSON.
    public static func parse(_ bytes: [UInt8]) throws(SimulatorInputError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw SimulatorInputError("body is not valid JSON")
        }
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string payload, or nil.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number payload, or nil (strings holding numbers are accepted too).
    public var doubleValue: Double? {
        switch self {
        case .number(let value): return value
        case .string(let value): return Double(value)
        default: return nil
        }
    }

    /// The number payload as an integer, or nil.
    public var intValue: Int? { doubleValue.map { Int($0) } }

    /// The boolean payload, or nil.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The array payload, or nil.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The object payload, or nil.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is JSON `null`.
    public var isNull: Bool { self == .null }
}

/// A control-API or scenario input that cannot be used; `message` is shown to the caller.
public struct SimulatorInputError: Error, Sendable, CustomStringConvertible {
    /// What was wrong with the input.
    public var message: String
    /// Creates an error with a caller-facing message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
