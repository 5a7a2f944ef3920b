/// Mutations of a tenant. Each one that changes something appends to the change log that delta reads.
extension Tenant {
    /// Converts a JSON value to a property value of `type`.
    static func propertyValue(_ json: JSONValue, type: PropertyType, name: String) throws(SimulatorInputError) -> PropertyValue {
        switch (type, json) {
        case (_, .null): return type == .strings ? .strings([]) : .null
        case (.string, .string(let s)): return .string(s)
        case (.bool, .bool(let b)): return .bool(b)
        case (.strings, .array(let items)):
            var strings: [String] = []
            for item in items {
                guard let s = item.stringValue else { throw SimulatorInputError("\(name) must be an array of strings") }
                strings.append(s)
            }
            return .strings(strings)
        default: throw SimulatorInputError("\(name) has the wrong JSON type")
        }
    }

    /// Builds a full value array from `props`, leaving properties not mentioned `unset`.
    static func values(from props: [String: JSONValue], resource: Resource) throws(SimulatorInputError) -> [PropertyValue] {
        var values = [PropertyValue](repeating: .unset, count: resource.properties.count)
        for (name, json) in props where name != "id" {
            guard let ordinal = resource.properties.firstIndex(of: name) else {
                throw SimulatorInputError("unknown \(resource.odataType) property '\(name)'")
            }
            let value = try propertyValue(json, type: resource.types[ordinal], name: name)
            if case .null = value { values[ordinal] = .unset } else { values[ordinal] = value }
        }
        return values
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

    // MARK: Users and groups

    /// Creates a user or group from JSON properties; required properties missing from `props` get defaults.
    /// - Returns: The new object's id.
    @discardableResult
    public mutating func create(_ resource: Resource, props: [String: JSONValue]) throws(SimulatorInputError) -> String {
        let id = try newId(props["id"]?.stringValue)
        var values = try Self.values(from: props, resource: resource)
        let short = String(id.prefix(8))
        switch resource {
        case .users:
            if case .unset = values[0] { values[0] = .string("user.\(short)@\(defaultDomain)") }
            if case .unset = values[1] { values[1] = .string("User \(short)") }
            if case .unset = values[7] { values[7] = .bool(true) }
            if case .unset = values[8] { values[8] = .string("Member") }
            users.append(DirectoryObject(id: id, values: values))
            refs[id] = MemberRef(kind: .user, index: users.count - 1)
            userLog.append(ChangeEntry(kind: .created, object: users.count - 1))
            liveUsers += 1
        case .groups:
            if case .unset = values[0] { values[0] = .string("Group \(short)") }
            if case .unset = values[3] { values[3] = .string("group-\(short)") }
            if case .unset = values[4] { values[4] = .bool(false) }
            if case .unset = values[5] { values[5] = .bool(true) }
            if case .unset = values[6] { values[6] = .strings([]) }
            groups.append(DirectoryObject(id: id, values: values))
            members.append([])
            refs[id] = MemberRef(kind: .group, index: groups.count - 1)
            groupLog.append(ChangeEntry(kind: .created, object: groups.count - 1))
            liveGroups += 1
        }
        return id
    }

    /// Partially updates a live object: only the properties in `props` change; JSON `null` clears one.
    /// - Returns: The number of properties whose value actually changed.
    @discardableResult
    public mutating func update(_ resource: Resource, id: String, props: [String: JSONValue]) throws(SimulatorInputError) -> Int {
        let index = try lookup(id, resource == .users ? .user : .group)
        let object = resource == .users ? users[index] : groups[index]
        guard object.lifecycle == .live else { throw SimulatorInputError("'\(id)' is deleted and cannot be updated") }
        var values = object.values
        var mask: UInt32 = 0
        for (name, json) in props where name != "id" {
            guard let ordinal = resource.properties.firstIndex(of: name) else {
                throw SimulatorInputError("unknown \(resource.odataType) property '\(name)'")
            }
            let value = try Self.propertyValue(json, type: resource.types[ordinal], name: name)
            let old = values[ordinal]
            if case .null = value, old == .unset || old == .null { continue }
            if old != value {
                values[ordinal] = value
                mask |= 1 << UInt32(ordinal)
            }
        }
        guard mask != 0 else { return 0 }
        switch resource {
        case .users:
            users[index].values = values
            userLog.append(ChangeEntry(kind: .updated, object: index, mask: mask))
        case .groups:
            groups[index].values = values
            groupLog.append(ChangeEntry(kind: .updated, object: index, mask: mask))
        }
        return mask.nonzeroBitCount
    }

    /// Moves a live object to deleted items. Its memberships (both ways) are kept, as in Entra.
    public mutating func softDelete(_ resource: Resource, id: String) throws(SimulatorInputError) {
        let index = try lookup(id, resource == .users ? .user : .group)
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
        }
    }

    /// Restores a soft-deleted object; delta then sends it whole.
    public mutating func restore(_ resource: Resource, id: String) throws(SimulatorInputError) {
        let index = try lookup(id, resource == .users ? .user : .group)
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
        }
    }

    /// Permanently deletes a live or soft-deleted object and removes it from every group it belonged to
    /// (each removal is logged, so groups delta reports it).
    public mutating func hardDelete(_ resource: Resource, id: String) throws(SimulatorInputError) {
        let kind: MemberKind = resource == .users ? .user : .group
        let index = try lookup(id, kind)
        let ref = MemberRef(kind: kind, index: index)
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
            members[index] = []
            groupLog.append(ChangeEntry(kind: .hardDeleted, object: index))
            if was == .live { liveGroups -= 1 }
        }
        for g in members.indices {
            if let position = Self.position(of: ref, in: members[g]) {
                members[g].remove(at: position)
                groupLog.append(ChangeEntry(kind: .memberRemoved, object: g, member: ref))
            }
        }
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
        return true
    }
}
