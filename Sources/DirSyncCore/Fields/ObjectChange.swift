import Foundation

/// A directory object as one delta page reported it: one ``Patch`` per field of its ``FieldTable``
/// (absent, explicit null, or a value), in the table's order.
public struct ObjectChange: Sendable, Equatable {
    public var id: UUID
    /// The fields' patches, indexed like the table's ``FieldTable/fields``.
    public var values: [Patch<FieldValue>]
    /// Set when the entry is `{"id": …, "@removed": {"reason": …}}`.
    public var removed: RemovalReason?
    /// The `members@delta` entries on this page (groups); empty when the property was absent.
    public var memberChanges: [MemberChange]

    /// An object with every field absent.
    public init(id: UUID, fieldCount: Int) {
        self.id = id
        self.values = Array(repeating: .absent, count: fieldCount)
        self.removed = nil
        self.memberChanges = []
    }

    /// An object of `table` with the given properties by Graph name (others absent); for tests and
    /// fixtures. A name the table does not know traps.
    public init(_ table: FieldTable, id: UUID, _ properties: KeyValuePairs<String, Patch<FieldValue>> = [:],
                removed: RemovalReason? = nil, members: [MemberChange] = []) {
        self.init(id: id, fieldCount: table.fields.count)
        for (name, patch) in properties {
            guard let index = table.index(of: name) else { preconditionFailure("\(table.resource) has no field \(name)") }
            values[index] = patch
        }
        self.removed = removed
        self.memberChanges = members
    }

    /// The patch of field `index`.
    public subscript(_ index: Int) -> Patch<FieldValue> {
        get { values[index] }
        set { values[index] = newValue }
    }

    /// Overrides this report's properties with those present in `later` (same table).
    public mutating func merge(_ later: ObjectChange) {
        for index in values.indices where later.values[index].isPresent {
            values[index] = later.values[index]
        }
    }

    /// Whether writing this report over a row that holds `earlier`'s values would change nothing:
    /// every property it carries, `earlier` carried with the same value (memberships aside).
    public func addsNothing(to earlier: ObjectChange) -> Bool {
        guard removed == nil, earlier.removed == nil else { return false }
        for index in values.indices where values[index].isPresent && values[index] != earlier.values[index] {
            return false
        }
        return true
    }

    /// Whether any field is present.
    public var carriesProperties: Bool { values.contains(where: \.isPresent) }

    /// The operator-chosen properties this report carries, as one JSON object keyed by Graph name
    /// (an explicit null as JSON `null`), to merge over the stored `attributes`; `nil` when it carries
    /// none of them.
    public func attributesPatch(_ table: FieldTable) -> String? {
        var text = ""
        for index in table.fields.indices.dropFirst(table.contractFieldCount) {
            let json: String
            switch values[index] {
            case .absent: continue
            case .null: json = "null"
            case .value(.json(let value)): json = value
            case .value(let other): json = JSONText.string(other.description)
            }
            text.append(text.isEmpty ? "{" : ",")
            JSONText.appendQuoted(table.fields[index].graphName, to: &text)
            text.append(":")
            text.append(json)
        }
        return text.isEmpty ? nil : text + "}"
    }
}

extension ObjectChange: CustomStringConvertible {
    public var description: String {
        let present = values.enumerated().filter { $0.element.isPresent }.map { "#\($0.offset)=\($0.element)" }
        return "\(id.uuidString.lowercased())(\(present.joined(separator: ", "))\(removed.map { ", removed: \($0)" } ?? ""))"
    }
}
