/// Mutations of a tenant. Each one that changes something appends to the change log that delta reads.
extension Tenant {
    /// Converts a JSON value to a property value of `type`.
    static func propertyValue(_ json: JSONValue, type: PropertyType, name: String) throws(SimulatorInputError) -> PropertyValue {
        switch (type, json) {
        case (.strings, .null): return .strings([])
        case (.attributes, .null): return .attributes(ExtensionAttributes())
        case (_, .null): return .null
        case (.string, .string(let s)): return .string(s)
        case (.bool, .bool(let b)): return .bool(b)
        case (.int, .number(let n)):
            guard n == n.rounded(), abs(n) < 9.0e15 else { throw SimulatorInputError("\(name) must be an integer") }
            return .int(Int(n))
        case (.strings, .array(let items)):
            var strings: [String] = []
            for item in items {
                guard let s = item.stringValue else { throw SimulatorInputError("\(name) must be an array of strings") }
                strings.append(s)
            }
            return .strings(strings)
        case (.attributes, .object):
            return .attributes(try mergedAttributes(ExtensionAttributes(), json, name: name))
        default: throw SimulatorInputError("\(name) has the wrong JSON type")
        }
    }

    /// `base` with the keys of a JSON object applied, as a Graph PATCH of `onPremisesExtensionAttributes` does:
    /// only the keys named change, and `null` clears one.
    static func mergedAttributes(_ base: ExtensionAttributes, _ json: JSONValue, name: String) throws(SimulatorInputError) -> ExtensionAttributes {
        guard let members = json.objectValue else { throw SimulatorInputError("\(name) must be an object") }
        var result = base
        for (key, value) in members {
            guard let slot = ExtensionAttributes.slot(of: key) else {
                throw SimulatorInputError("\(name) has no key '\(key)' (extensionAttribute1 … extensionAttribute15)")
            }
            switch value {
            case .null: result.values[slot] = nil
            case .string(let s): result.values[slot] = s
            default: throw SimulatorInputError("\(name).\(key) must be a string or null")
            }
        }
        return result
    }

    private func lookup(_ id: String, _ kind: MemberKind) throws(SimulatorInputError) -> Int {
        guard let ref = refs[id.lowercased()], ref.kind == kind else {
            throw SimulatorInputError("no \(kind.name) with id '\(id)'")
        }
        return ref.index
    }

    private mutating func newId(_ requested: String?) throws(SimulatorInputError) -> String {
        if let requested {
            let id = requested.lowercased()
            guard refs[id] == nil else { throw SimulatorInputError("id '\(requested)' is already used") }
            return id
        }
        while true {
            let id = idSource.guid()
            if refs[id] == nil { return id }
        }
    }

    private mutating func append(_ resource: Resource, _ entry: ChangeEntry) {
        switch resource {
        case .users: userLog.append(entry)
        case .groups: groupLog.append(entry)
        case .contacts: contactLog.append(entry)
        }
    }

    // MARK: Users, groups and contacts

    /// Creates a user, group or contact from JSON properties; required properties missing from `props` get
    /// defaults. A user may also carry directory extension properties and `"manager"` (an id).
    /// - Parameter now: Seconds since 1970, the new object's `createdDateTime` unless `props` gives one
    ///   (contacts have no such property).
    /// - Returns: The new object's id.
    @discardableResult
    public mutating func create(_ resource: Resource, props: [String: JSONValue], now: Double? = nil) throws(SimulatorInputError) -> String {
        let id = try newId(props["id"]?.stringValue)
        var values = [PropertyValue](repeating: .unset, count: resource.properties.count)
        var extensions: [(Int, PropertyValue)] = []
        var manager: String?
        for (name, json) in props where name != "id" {
            if resource == .users && name == "manager" {
                guard json != .null else { continue }
                guard let target = json.stringValue else { throw SimulatorInputError("manager must be an id or null") }
                manager = target
                continue
            }
            if resource == .users, let ext = extensionIndex(named: name) {
                let value = try Self.propertyValue(json, type: directoryExtensions[ext].dataType.propertyType, name: name)
                extensions.append((ext, value == .null ? .unset : value))
                continue
            }
            guard let ordinal = resource.properties.firstIndex(of: name) else {
                throw SimulatorInputError("unknown \(resource.odataType) property '\(name)'")
            }
            let value = try Self.propertyValue(json, type: resource.types[ordinal], name: name)
            values[ordinal] = value == .null ? .unset : value
        }
        let managerRef = try manager.map { (target: String) throws(SimulatorInputError) -> MemberRef in try validManager(target, for: nil) }
        let short = String(id.prefix(8))
        switch resource {
        case .users:
            if case .unset = values[UserProperty.userPrincipalName] { values[UserProperty.userPrincipalName] = .string("user.\(short)@\(defaultDomain)") }
            if case .unset = values[UserProperty.displayName] { values[UserProperty.displayName] = .string("User \(short)") }
            if case .unset = values[UserProperty.accountEnabled] { values[UserProperty.accountEnabled] = .bool(true) }
            if case .unset = values[UserProperty.userType] { values[UserProperty.userType] = .string("Member") }
            if case .unset = values[UserProperty.createdDateTime], let now { values[UserProperty.createdDateTime] = .string(isoTimestamp(now)) }
            precondition(users.count < ChangeEntry.maxObject, "too many users for the change log")
            users.append(DirectoryObject(id: id, values: values))
            managers.append(.none)
            let index = users.count - 1
            refs[id] = MemberRef(kind: .user, index: index)
            if !extensions.isEmpty {
                var stored = [PropertyValue](repeating: .unset, count: directoryExtensions.count)
                for (ext, value) in extensions { stored[ext] = value }
                extensionValues[Int32(index)] = stored
            }
            userLog.append(ChangeEntry(kind: .created, object: index))
            liveUsers += 1
            if let managerRef {
                managers[index] = managerRef
                userLog.append(ChangeEntry(kind: .managerChanged, object: index, member: .none))
            }
        case .groups:
            if case .unset = values[GroupProperty.displayName] { values[GroupProperty.displayName] = .string("Group \(short)") }
            if case .unset = values[GroupProperty.mailNickname] { values[GroupProperty.mailNickname] = .string("group-\(short)") }
            if case .unset = values[GroupProperty.mailEnabled] { values[GroupProperty.mailEnabled] = .bool(false) }
            if case .unset = values[GroupProperty.securityEnabled] { values[GroupProperty.securityEnabled] = .bool(true) }
            if case .unset = values[GroupProperty.groupTypes] { values[GroupProperty.groupTypes] = .strings([]) }
            if case .unset = values[GroupProperty.createdDateTime], let now { values[GroupProperty.createdDateTime] = .string(isoTimestamp(now)) }
            precondition(groups.count < ChangeEntry.maxObject, "too many groups for the change log")
            groups.append(DirectoryObject(id: id, values: values))
            members.append([])
            refs[id] = MemberRef(kind: .group, index: groups.count - 1)
            groupLog.append(ChangeEntry(kind: .created, object: groups.count - 1))
            liveGroups += 1
        case .contacts:
            if case .unset = values[ContactProperty.displayName] { values[ContactProperty.displayName] = .string("Contact \(short)") }
            precondition(contacts.count < ChangeEntry.maxObject, "too many contacts for the change log")
            contacts.append(DirectoryObject(id: id, values: values))
            refs[id] = MemberRef(kind: .orgContact, index: contacts.count - 1)
            contactLog.append(ChangeEntry(kind: .created, object: contacts.count - 1))
            liveContacts += 1
        }
        didChange(resource, count(resource) - 1, before: nil)
        return id
    }

    /// Partially updates a live object: only the properties in `props` change; JSON `null` clears one.
    ///
    /// `onPremisesExtensionAttributes` merges like a Graph PATCH: only the keys given change. A change to a
    /// directory extension marks every directory extension of the same data type changed, as Graph reports
    /// them. `"manager"` (an id, or null) sets or removes a user's manager.
    /// - Returns: The number of properties (and relationships) whose value actually changed.
    @discardableResult
    public mutating func update(_ resource: Resource, id: String, props: [String: JSONValue]) throws(SimulatorInputError) -> Int {
        let index = try lookup(id, resource.memberKind)
        let before = object(resource, index)
        guard before.lifecycle == .live else { throw SimulatorInputError("'\(id)' is deleted and cannot be updated") }
        let extensionsBefore = resource == .users ? extensionsForReplica(user: index) : nil
        var values = self.values(resource, index)
        var mask: UInt64 = 0
        var extensionChanges: [(Int, PropertyValue)] = []
        var manager: JSONValue?
        for (name, json) in props where name != "id" {
            if resource == .users && name == "manager" {
                guard json == .null || json.stringValue != nil else { throw SimulatorInputError("manager must be an id or null") }
                manager = json
                continue
            }
            if resource == .users, let ext = extensionIndex(named: name) {
                let value = try Self.propertyValue(json, type: directoryExtensions[ext].dataType.propertyType, name: name)
                let old = extensionValue(ext, user: index)
                if value == .null && (old == .unset || old == .null) { continue }
                if old != value {
                    extensionChanges.append((ext, value))
                    mask |= extensionMask(sameTypeAs: ext)
                }
                continue
            }
            guard let ordinal = resource.properties.firstIndex(of: name) else {
                throw SimulatorInputError("unknown \(resource.odataType) property '\(name)'")
            }
            let old = values[ordinal]
            let value: PropertyValue
            if resource.types[ordinal] == .attributes, json != .null {
                var base = ExtensionAttributes()
                if case .attributes(let current) = old { base = current }
                value = .attributes(try Self.mergedAttributes(base, json, name: name))
            } else {
                value = try Self.propertyValue(json, type: resource.types[ordinal], name: name)
            }
            if case .null = value, old == .unset || old == .null { continue }
            if old != value {
                values[ordinal] = value
                mask |= 1 << UInt64(ordinal)
            }
        }
        if let target = manager?.stringValue { _ = try validManager(target, for: index) }
        var changed = (mask & 0xFFFF_FFFF).nonzeroBitCount + extensionChanges.count
        if mask != 0 {
            if mask & 0xFFFF_FFFF != 0 {
                // `values` holds every value, derived ones included: the object stores them all from now on.
                switch resource {
                case .users: users[index].values = values
                case .groups: groups[index].values = values
                case .contacts: contacts[index].values = values
                }
            }
            if !extensionChanges.isEmpty {
                var stored = extensionValues(user: index)
                for (ext, value) in extensionChanges { stored[ext] = value }
                extensionValues[Int32(index)] = stored
            }
            append(resource, ChangeEntry(kind: .updated, object: index, mask: mask))
            didChange(resource, index, before: before, extensionsBefore: extensionsBefore)
        }
        switch manager {
        case .string(let target)?: if try setManager(userId: id, managerId: target) { changed += 1 }
        case .null?: if try removeManager(userId: id) { changed += 1 }
        default: break
        }
        return changed
    }

    /// Moves a live user or group to deleted items. Its memberships (both ways) and its manager links are kept, as
    /// in Entra.
    ///
    /// Contacts cannot be soft-deleted: Graph documents deleted items (and their restore) for users, groups,
    /// applications, service principals and a few other types, not for organisational contacts. A deleted contact
    /// is gone, and delta reports it with reason `deleted` (use ``hardDelete(_:id:)``).
    public mutating func softDelete(_ resource: Resource, id: String) throws(SimulatorInputError) {
        guard resource != .contacts else {
            throw SimulatorInputError("contacts cannot be soft-deleted: Graph's deleted items hold no organisational contacts")
        }
        let index = try lookup(id, resource.memberKind)
        let before = object(resource, index)
        let extensionsBefore = resource == .users ? extensionsForReplica(user: index) : nil
        switch resource {
        case .users:
            guard users[index].lifecycle == .live else { throw SimulatorInputError("user '\(id)' is not live") }
            users[index].lifecycle = .softDeleted
            userLog.append(ChangeEntry(kind: .softDeleted, object: index))
            liveUsers -= 1
        case .groups:
            guard groups[index].lifecycle == .live else { throw SimulatorInputError("group '\(id)' is not live") }
            groups[index].lifecycle = .softDeleted
            groupLog.append(ChangeEntry(kind: .softDeleted, object: index))
            liveGroups -= 1
        case .contacts:
            return
        }
        didChange(resource, index, before: before, extensionsBefore: extensionsBefore)
    }

    /// Restores a soft-deleted user or group; delta then sends it whole.
    public mutating func restore(_ resource: Resource, id: String) throws(SimulatorInputError) {
        guard resource != .contacts else {
            throw SimulatorInputError("contacts cannot be restored: Graph's deleted items hold no organisational contacts")
        }
        let index = try lookup(id, resource.memberKind)
        let before = object(resource, index)
        let extensionsBefore = resource == .users ? extensionsForReplica(user: index) : nil
        switch resource {
        case .users:
            guard users[index].lifecycle == .softDeleted else { throw SimulatorInputError("user '\(id)' is not soft-deleted") }
            users[index].lifecycle = .live
            userLog.append(ChangeEntry(kind: .restored, object: index))
            liveUsers += 1
        case .groups:
            guard groups[index].lifecycle == .softDeleted else { throw SimulatorInputError("group '\(id)' is not soft-deleted") }
            groups[index].lifecycle = .live
            groupLog.append(ChangeEntry(kind: .restored, object: index))
            liveGroups += 1
        case .contacts:
            return
        }
        didChange(resource, index, before: before, extensionsBefore: extensionsBefore)
    }

    /// Permanently deletes a live or soft-deleted object, removes it from every group it belonged to and, for a
    /// user or contact, from the manager of every user it managed (each removal is logged, so groups delta and
    /// users delta report it).
    ///
    /// graph-sim's choice: Graph does not document what becomes of a deleted manager's reports; a soft-deleted
    /// manager stays their manager (like memberships, the link comes back on restore) and a permanently deleted
    /// one is removed from them.
    public mutating func hardDelete(_ resource: Resource, id: String) throws(SimulatorInputError) {
        let kind = resource.memberKind
        let index = try lookup(id, kind)
        let ref = MemberRef(kind: kind, index: index)
        let before = object(resource, index)
        let extensionsBefore = resource == .users ? extensionsForReplica(user: index) : nil
        switch resource {
        case .users:
            let was = users[index].lifecycle
            guard was != .hardDeleted else { throw SimulatorInputError("user '\(id)' is already deleted") }
            users[index].lifecycle = .hardDeleted
            userLog.append(ChangeEntry(kind: .hardDeleted, object: index))
            if was == .live { liveUsers -= 1 }
        case .groups:
            let was = groups[index].lifecycle
            guard was != .hardDeleted else { throw SimulatorInputError("group '\(id)' is already deleted") }
            groups[index].lifecycle = .hardDeleted
            willClearMembers(group: index)
            members[index] = []
            groupLog.append(ChangeEntry(kind: .hardDeleted, object: index))
            if was == .live { liveGroups -= 1 }
        case .contacts:
            guard contacts[index].lifecycle != .hardDeleted else { throw SimulatorInputError("contact '\(id)' is already deleted") }
            contacts[index].lifecycle = .hardDeleted
            contactLog.append(ChangeEntry(kind: .hardDeleted, object: index))
            liveContacts -= 1
        }
        didChange(resource, index, before: before, extensionsBefore: extensionsBefore)
        for g in members.indices {
            if let position = Self.position(of: ref, in: members[g]) {
                members[g].remove(at: position)
                groupLog.append(ChangeEntry(kind: .memberRemoved, object: g, member: ref))
                didChangeMembership(group: g, member: ref, wasMember: true)
            }
        }
        if resource != .groups {
            for u in managers.indices where managers[u] == ref {
                managers[u] = .none
                userLog.append(ChangeEntry(kind: .managerChanged, object: u, member: ref))
            }
        }
    }

    // MARK: Managers

    /// Makes `managerId` (a live user or contact) the manager of the live user `userId`.
    ///
    /// graph-sim accepts any live user other than the user itself, so chains of managers may loop, as Graph does
    /// not document a check against that.
    /// - Returns: false if it already was the manager (nothing logged).
    @discardableResult
    public mutating func setManager(userId: String, managerId: String) throws(SimulatorInputError) -> Bool {
        let u = try lookup(userId, .user)
        guard users[u].lifecycle == .live else { throw SimulatorInputError("user '\(userId)' is not live") }
        let ref = try validManager(managerId, for: u)
        let old = managers[u]
        guard old != ref else { return false }
        managers[u] = ref
        userLog.append(ChangeEntry(kind: .managerChanged, object: u, member: old))
        return true
    }

    /// The reference of `managerId` if it can manage user `user` (nil: a user being created): a live user other
    /// than the user itself, or a live contact.
    private func validManager(_ managerId: String, for user: Int?) throws(SimulatorInputError) -> MemberRef {
        guard let ref = refs[managerId.lowercased()] else { throw SimulatorInputError("no object with id '\(managerId)'") }
        switch ref.kind {
        case .user:
            guard ref.index != user else { throw SimulatorInputError("a user cannot be their own manager") }
            guard users[ref.index].lifecycle == .live else { throw SimulatorInputError("user '\(managerId)' is not live") }
        case .orgContact:
            guard contacts[ref.index].lifecycle == .live else { throw SimulatorInputError("contact '\(managerId)' is deleted") }
        default:
            throw SimulatorInputError("a manager is a user or an organisational contact, not a \(ref.kind.name)")
        }
        return ref
    }

    /// Removes the manager of the live user `userId`.
    /// - Returns: false if it had none (nothing logged).
    @discardableResult
    public mutating func removeManager(userId: String) throws(SimulatorInputError) -> Bool {
        let u = try lookup(userId, .user)
        guard users[u].lifecycle == .live else { throw SimulatorInputError("user '\(userId)' is not live") }
        let old = managers[u]
        guard !old.isNone else { return false }
        managers[u] = .none
        userLog.append(ChangeEntry(kind: .managerChanged, object: u, member: old))
        return true
    }

    // MARK: Directory extensions

    /// Registers a directory extension property on users (nothing changes if one of that name exists with the
    /// same data type).
    /// - Throws: if the name is taken with another type, or the tenant already has the most graph-sim supports.
    public mutating func registerExtension(_ definition: DirectoryExtension) throws(SimulatorInputError) {
        if let existing = extensionIndex(named: definition.name) {
            guard directoryExtensions[existing].dataType == definition.dataType else {
                throw SimulatorInputError("\(definition.name) is registered as \(directoryExtensions[existing].dataType.rawValue)")
            }
            return
        }
        guard definition.name.hasPrefix("extension_"), !UserProperty.names.contains(definition.name) else {
            throw SimulatorInputError("a directory extension is named extension_<app id without dashes>_<name>")
        }
        guard directoryExtensions.count < DirectoryExtension.maximum else {
            throw SimulatorInputError("graph-sim supports at most \(DirectoryExtension.maximum) directory extensions per tenant")
        }
        directoryExtensions.append(definition)
    }

    // MARK: Memberships

    /// Binary search of a sorted member list.
    static func position(of ref: MemberRef, in list: [MemberRef]) -> Int? {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid] < ref { low = mid + 1 } else { high = mid }
        }
        return low < list.count && list[low] == ref ? low : nil
    }

    /// The reference of `memberId`, checked against `memberType` when given.
    func memberRef(_ memberId: String, memberType: String?) throws(SimulatorInputError) -> MemberRef {
        guard let ref = refs[memberId.lowercased()] else { throw SimulatorInputError("no object with id '\(memberId)'") }
        if let memberType {
            guard let kind = MemberKind(name: memberType) else { throw SimulatorInputError("unknown memberType '\(memberType)'") }
            guard kind == ref.kind else { throw SimulatorInputError("'\(memberId)' is a \(ref.kind.name), not a \(kind.name)") }
        }
        return ref
    }

    /// Adds a member to a live group.
    ///
    /// A group may not contain itself, but a nested group may close a cycle (A in B in C in A): graph-sim's choice,
    /// as Entra's documentation states no rule against nesting cycles and directory audit tools report circularly
    /// nested Entra groups. Delta reports such memberships like any other; what they mean transitively is the
    /// reader's concern.
    /// - Returns: false if it was already a member (nothing logged).
    @discardableResult
    public mutating func addMember(groupId: String, memberId: String, memberType: String? = nil) throws(SimulatorInputError) -> Bool {
        let g = try lookup(groupId, .group)
        guard groups[g].lifecycle == .live else { throw SimulatorInputError("group '\(groupId)' is not live") }
        let ref = try memberRef(memberId, memberType: memberType)
        switch ref.kind {
        case .user: guard users[ref.index].lifecycle == .live else { throw SimulatorInputError("user '\(memberId)' is not live") }
        case .group:
            guard groups[ref.index].lifecycle == .live else { throw SimulatorInputError("group '\(memberId)' is not live") }
            guard ref.index != g else { throw SimulatorInputError("a group cannot contain itself") }
        case .orgContact:
            guard contacts[ref.index].lifecycle == .live else { throw SimulatorInputError("contact '\(memberId)' is deleted") }
        default: break
        }
        var low = 0, high = members[g].count
        while low < high {
            let mid = (low + high) / 2
            if members[g][mid] < ref { low = mid + 1 } else { high = mid }
        }
        if low < members[g].count && members[g][low] == ref { return false }
        members[g].insert(ref, at: low)
        groupLog.append(ChangeEntry(kind: .memberAdded, object: g, member: ref))
        didChangeMembership(group: g, member: ref, wasMember: false)
        return true
    }

    /// Removes a member from a live group.
    /// - Returns: false if it was not a member (nothing logged).
    @discardableResult
    public mutating func removeMember(groupId: String, memberId: String) throws(SimulatorInputError) -> Bool {
        let g = try lookup(groupId, .group)
        guard groups[g].lifecycle == .live else { throw SimulatorInputError("group '\(groupId)' is not live") }
        let ref = try memberRef(memberId, memberType: nil)
        guard let position = Self.position(of: ref, in: members[g]) else { return false }
        members[g].remove(at: position)
        groupLog.append(ChangeEntry(kind: .memberRemoved, object: g, member: ref))
        didChangeMembership(group: g, member: ref, wasMember: true)
        return true
    }
}
