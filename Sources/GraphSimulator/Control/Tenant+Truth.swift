/// The truth document: the tenant's current state, every modelled property by its Graph name.
extension Tenant {
    /// `{"tenantId","users":[…],"groups":[…],"contacts":[…],"memberships":[{"groupId","memberId","memberType"}],
    /// "domains":[{"id","isVerified","isDefault","isInitial","supportedServices"}]}`.
    ///
    /// Each object has `id`, every modelled property (`null` when unset or cleared; `onPremisesExtensionAttributes`
    /// as an object, collections as arrays), users also every registered directory extension property and
    /// `manager` (the manager's id or `null`), and `deleted`: `null` for live objects, `"changed"` for soft-deleted
    /// and `"deleted"` for hard-deleted ones. Memberships are listed for live groups only (soft-deleted members stay
    /// listed, as in Entra).
    public func truthJSON() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.string(id, key: "tenantId")
        for resource in [Resource.users, .groups, .contacts] {
            w.beginArray(resource.name)
            let names = resource.properties
            for index in 0..<count(resource) {
                let object = self.object(resource, index)
                w.beginObject()
                w.string(object.id, key: "id")
                for (ordinal, value) in values(resource, index).enumerated() {
                    Self.write(value, key: names[ordinal], to: &w)
                }
                if resource == .users {
                    for (ext, definition) in directoryExtensions.enumerated() {
                        Self.write(extensionValue(ext, user: index), key: definition.name, to: &w)
                    }
                    let manager = manager(of: index)
                    w.stringOrNull(manager.isNone ? nil : id(of: manager), key: "manager")
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
        w.beginArray("domains")
        for domain in domains {
            w.beginObject()
            w.string(domain.name, key: "id")
            w.bool(domain.isVerified, key: "isVerified")
            w.bool(domain.isDefault, key: "isDefault")
            w.bool(domain.isInitial, key: "isInitial")
            w.strings(domain.supportedServices, key: "supportedServices")
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
