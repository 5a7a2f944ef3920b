/// The truth document: the tenant's current state in the dirsync contract shape.
extension Tenant {
    /// `{"users":[…],"groups":[…],"memberships":[{"groupId","memberId","memberType"}]}`.
    ///
    /// Every contract property is present (`null` when unset or cleared). `deleted` is `null` for live objects,
    /// `"changed"` for soft-deleted and `"deleted"` for hard-deleted ones. Memberships are listed for live groups only
    /// (soft-deleted members stay listed, as in Entra).
    public func truthJSON() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.string(id, key: "tenantId")
        for resource in [Resource.users, .groups] {
            w.beginArray(resource.name)
            for object in objects(resource) {
                w.beginObject()
                w.string(object.id, key: "id")
                for (ordinal, name) in resource.properties.enumerated() {
                    switch object.values[ordinal] {
                    case .unset, .null: w.null(key: name)
                    case .string(let s): w.string(s, key: name)
                    case .bool(let b): w.bool(b, key: name)
                    case .strings(let list): w.strings(list, key: name)
                    }
                }
                switch object.lifecycle {
                case .live: w.null(key: "deleted")
                case .softDeleted: w.string("changed", key: "deleted")
                case .hardDeleted: w.string("deleted", key: "deleted")
                }
                w.endObject()
            }
            w.endArray()
        }
        w.beginArray("memberships")
        for (g, group) in groups.enumerated() where group.lifecycle == .live {
            for ref in members[g] {
                w.beginObject()
                w.string(group.id, key: "groupId")
                w.string(id(of: ref), key: "memberId")
                w.string(ref.kind.name, key: "memberType")
                w.endObject()
            }
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
