/// Reading property values, including those a generated object derives from the seed.
extension Tenant {
    /// Every property value of object `index` of `resource`, indexed by ordinal.
    ///
    /// A generated user or group stores only its contract properties; the others are derived from the tenant's
    /// seed, the object's index and its original contract values, so reading them twice gives the same values.
    /// The first change to the object stores them all (``update(_:id:props:)`` writes back every value), so later
    /// changes to contract properties never alter what was derived.
    public func values(_ resource: Resource, _ index: Int) -> [PropertyValue] {
        let stored = object(resource, index).values
        guard stored.count < resource.properties.count else { return stored }
        return stored + derivedValues(resource, index, stored: stored)
    }

    /// The values of ordinals `stored.count...` of a generated object.
    func derivedValues(_ resource: Resource, _ index: Int, stored: [PropertyValue]) -> [PropertyValue] {
        switch resource {
        case .users: return TenantGenerator.derivedUserValues(seed: generationSeed, tenant: self.index, user: index, stored: stored)
        case .groups: return TenantGenerator.derivedGroupValues(seed: generationSeed, tenant: self.index, group: index, stored: stored)
        case .contacts: return []
        }
    }

    /// The value of directory extension `ext` (an index into ``directoryExtensions``) on user `user`.
    public func extensionValue(_ ext: Int, user: Int) -> PropertyValue {
        if let stored = extensionValues[Int32(user)] { return ext < stored.count ? stored[ext] : .unset }
        if ext == 0 && generatesCostCenter && user < generatedUsers {
            return TenantGenerator.costCenter(seed: generationSeed, tenant: index, user: user)
        }
        return .unset
    }

    /// Every directory extension value of user `user`, indexed like ``directoryExtensions``.
    public func extensionValues(user: Int) -> [PropertyValue] {
        (0..<directoryExtensions.count).map { extensionValue($0, user: user) }
    }

    /// The change-mask bit of directory extension `ext`.
    static func extensionBit(_ ext: Int) -> UInt64 { 1 << UInt64(32 + ext) }

    /// The change-mask bits of every directory extension of the same data type as `ext`: Graph documents that a
    /// change to one directory extension property returns all directory extension properties of that type.
    func extensionMask(sameTypeAs ext: Int) -> UInt64 {
        let type = directoryExtensions[ext].dataType
        var mask: UInt64 = 0
        for (i, definition) in directoryExtensions.enumerated() where definition.dataType == type { mask |= Self.extensionBit(i) }
        return mask
    }

    /// The index of the directory extension named `name` (case-insensitive, as Graph matches property names).
    func extensionIndex(named name: String) -> Int? {
        let lower = name.lowercased()
        return directoryExtensions.firstIndex { $0.name.lowercased() == lower }
    }

    /// The manager of user `user`, or ``MemberRef/none``.
    public func manager(of user: Int) -> MemberRef {
        user < managers.count ? managers[user] : .none
    }
}
