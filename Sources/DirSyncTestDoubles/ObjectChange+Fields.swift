import DirSyncCore
import Foundation

/// An object's fields by Graph name, for tests: `change.user.displayName = .value("Alice")`.
@dynamicMemberLookup
package struct FieldsByName: Sendable {
    package var change: ObjectChange
    package let table: FieldTable

    package subscript(dynamicMember name: String) -> Patch<FieldValue> {
        get { change[index(name)] }
        set { change[index(name)] = newValue }
    }

    /// The object's own properties (`id`, `removed`, `memberChanges`).
    package subscript<T>(dynamicMember keyPath: KeyPath<ObjectChange, T>) -> T {
        change[keyPath: keyPath]
    }

    private func index(_ name: String) -> Int {
        guard let index = table.index(of: name) else { preconditionFailure("\(table.resource) has no field \(name)") }
        return index
    }
}

extension ObjectChange {
    /// A user with every field absent.
    package static func user(_ id: UUID, _ configure: (inout ObjectChange) -> Void = { _ in }) -> ObjectChange {
        var change = ObjectChange(id: id, fieldCount: FieldTable.users.fields.count)
        configure(&change)
        return change
    }

    /// A group with every field absent.
    package static func group(_ id: UUID, _ configure: (inout ObjectChange) -> Void = { _ in }) -> ObjectChange {
        var change = ObjectChange(id: id, fieldCount: FieldTable.groups.fields.count)
        configure(&change)
        return change
    }

    /// The fields as a user's.
    package var user: FieldsByName {
        get { FieldsByName(change: self, table: .users) }
        set { self = newValue.change }
    }

    /// The fields as a group's.
    package var group: FieldsByName {
        get { FieldsByName(change: self, table: .groups) }
        set { self = newValue.change }
    }
}

extension DeltaPage {
    /// The page's objects with their fields by Graph name.
    package var named: [FieldsByName] {
        objects.map { FieldsByName(change: $0, table: DirectorySchema.standard[resource]) }
    }
}
