/// One page of a plain list: the objects to send and whether more follow.
struct ListPage: Sendable {
    /// Object indices, in list order.
    var items: [Int] = []
    /// Filtered lists: the key of each item (the filtered property, lower-cased).
    var keys: [String] = []
    /// Whether at least one more object follows the last item.
    var hasMore = false
}

/// Plain reads (`GET /users`, `/groups`, `/contacts`, a group's `/members`, `getByIds`), served from the tenant as a
/// ``ListView`` shows it. A page costs O(page) (plus O(log n) for a filtered list and O(changes in the lag window)),
/// never O(tenant).
extension Tenant {
    // MARK: Lists

    /// A page of an unfiltered list: live objects in index (creation) order, after index `after` (nil: from the start).
    func unfilteredPage(_ resource: Resource, after: Int?, top: Int, view: ListView) -> ListPage {
        var page = ListPage()
        var i = after.map { $0 + 1 } ?? 0
        let n = count(resource)
        while i < n {
            if isListedLive(resource, i, in: view) {
                if page.items.count == top {
                    page.hasMore = true
                    break
                }
                page.items.append(i)
            }
            i += 1
        }
        return page
    }

    /// The objects changed within the lag window that reads see as live with a key starting with the filter's
    /// prefix, in (key, index) order.
    private func displaced(_ resource: Resource, _ filter: PrefixFilter, view: ListView) -> [PrefixIndex.Entry] {
        var result: [PrefixIndex.Entry] = []
        for (key, snapshot) in view.objects where key.resource == resource {
            guard let object = snapshot.object, let text = Self.prefixKey(object, ordinal: filter.ordinal),
                  text.utf8.starts(with: filter.prefix.utf8) else { continue }
            result.append(PrefixIndex.Entry(key: text, index: key.index))
        }
        return result.sorted { PrefixIndex.compare($0.key, $0.index, $1.key, $1.index) < 0 }
    }

    /// A page of a `startswith` list: matching live objects in (key, index) order, after (`afterKey`, `afterIndex`)
    /// (nil: from the start). Objects changed within the lag window are placed by the key reads see.
    mutating func filteredPage(_ resource: Resource, filter: PrefixFilter, after: (key: String, index: Int)?, top: Int,
                               view: ListView) -> ListPage {
        let index = prefixIndex(resource, ordinal: filter.ordinal)
        let range = index.range(prefix: filter.prefix)
        var position = range.lowerBound
        if let after { position = max(position, index.position(after: after.key, index: Int32(after.index))) }
        var moved = displaced(resource, filter, view: view)
        if let after {
            moved.removeAll { PrefixIndex.compare($0.key, $0.index, after.key, Int32(after.index)) <= 0 }
        }
        var page = ListPage()
        var m = 0
        while true {
            while position < range.upperBound,
                  view.objects[ListView.ObjectKey(resource: resource, index: index.entries[position].index)] != nil {
                position += 1
            }
            let fromIndex = position < range.upperBound ? index.entries[position] : nil
            let fromMoved = m < moved.count ? moved[m] : nil
            let next: PrefixIndex.Entry
            switch (fromIndex, fromMoved) {
            case (nil, nil): return page
            case (let a?, nil): next = a; position += 1
            case (nil, let b?): next = b; m += 1
            case (let a?, let b?):
                if PrefixIndex.compare(a.key, a.index, b.key, b.index) < 0 { next = a; position += 1 } else { next = b; m += 1 }
            }
            if page.items.count == top {
                page.hasMore = true
                return page
            }
            page.items.append(Int(next.index))
            page.keys.append(next.key)
        }
    }

    /// The number of live objects reads see (`@odata.count` of an unfiltered list).
    func listedCount(_ resource: Resource, view: ListView) -> Int {
        var count = liveCount(resource)
        for (key, snapshot) in view.objects where key.resource == resource {
            let now = object(resource, Int(key.index)).lifecycle == .live
            let seen = snapshot.object?.lifecycle == .live
            count += (seen ? 1 : 0) - (now ? 1 : 0)
        }
        return count
    }

    /// The number of objects a `startswith` list shows (`@odata.count` of a filtered list).
    mutating func listedCount(_ resource: Resource, filter: PrefixFilter, view: ListView) -> Int {
        let index = prefixIndex(resource, ordinal: filter.ordinal)
        var count = index.range(prefix: filter.prefix).count
        for key in view.objects.keys where key.resource == resource {
            if let text = Self.prefixKey(object(resource, Int(key.index)), ordinal: filter.ordinal), text.utf8.starts(with: filter.prefix.utf8) {
                count -= 1
            }
        }
        return count + displaced(resource, filter, view: view).count
    }

    // MARK: Members

    /// A page of group `group`'s members as reads see them, in ``MemberRef`` order after `after` (nil: from the start):
    /// live member objects only, service principals only when `servicePrincipals` is true.
    ///
    /// graph-sim's choice: a soft-deleted member is not listed (it sits in deleted items, not in the directory), while
    /// groups delta keeps reporting it as a member, as Graph documents for delta. Graph does not document what `/members`
    /// shows for it.
    func membersPage(group: Int, after: MemberRef?, top: Int, servicePrincipals: Bool, view: ListView) -> (items: [MemberRef], hasMore: Bool) {
        var items: [MemberRef] = []
        var hasMore = false
        forEachListedMember(of: group, after: after, in: view) { ref in
            if !servicePrincipals && ref.kind == .servicePrincipal { return true }
            guard isListedLive(ref, in: view) else { return true }
            if items.count == top {
                hasMore = true
                return false
            }
            items.append(ref)
            return true
        }
        return (items, hasMore)
    }

    /// The number of members ``membersPage(group:after:top:servicePrincipals:view:)`` lists in all.
    func listedMemberCount(group: Int, servicePrincipals: Bool, view: ListView) -> Int {
        var count = 0
        forEachListedMember(of: group, after: nil, in: view) { ref in
            if (servicePrincipals || ref.kind != .servicePrincipal) && isListedLive(ref, in: view) { count += 1 }
            return true
        }
        return count
    }

    // MARK: Writing objects

    /// Writes object `index` of `resource` as a plain read returns it: every selected property, `null` when it has no
    /// value (collections as `[]`, `onPremisesExtensionAttributes` with fifteen nulls), then `id`; directory extensions
    /// only when set. With `odataType`, `@odata.type` comes first (directoryObject collections carry it).
    func writeListed(_ w: inout JSONWriter, _ resource: Resource, _ index: Int, view: ListView, selection: DeltaSelection, odataType: Bool,
                     expandManager: Bool = false) {
        guard let object = listed(resource, index, in: view) else { return }
        w.beginObject()
        if odataType { w.string("#" + resource.odataType, key: "@odata.type") }
        let names = resource.properties
        var values = object.values
        let storedBits: UInt64 = values.count >= 64 ? .max : (1 << UInt64(values.count)) - 1
        if selection.returned & 0xFFFF_FFFF & ~storedBits != 0 && values.count < names.count {
            values += derivedValues(resource, index, stored: values)
        }
        for ordinal in names.indices where selection.returned & (1 << UInt64(ordinal)) != 0 {
            let value = ordinal < values.count ? values[ordinal] : .unset
            switch (resource.types[ordinal], value) {
            case (.strings, .unset), (.strings, .null): w.strings([], key: names[ordinal])
            case (.attributes, .unset), (.attributes, .null): ExtensionAttributes().write(&w, key: names[ordinal])
            case (_, .unset): w.null(key: names[ordinal])
            default: Self.write(value, key: names[ordinal], to: &w)
            }
        }
        if resource == .users && selection.returned >> 32 != 0 {
            let extensions = listedExtensions(user: index, in: view)
            for ext in directoryExtensions.indices where selection.returned & Self.extensionBit(ext) != 0 {
                guard ext < extensions.count, extensions[ext] != .unset else { continue }
                Self.write(extensions[ext], key: directoryExtensions[ext].name, to: &w)
            }
        }
        if expandManager, resource == .users {
            let manager = manager(of: index)
            if !manager.isNone {
                w.beginObject("manager")
                w.string(manager.kind.odataType, key: "@odata.type")
                w.string(id(of: manager), key: "id")
                w.endObject()
            }
        }
        w.string(object.id, key: "id")
        w.endObject()
    }

    /// Writes a member the app may not read in full (or graph-sim does not model): `@odata.type` and `id`, and each
    /// property `selected` names as `null`, as Graph documents for inaccessible member objects.
    func writeLimited(_ w: inout JSONWriter, _ ref: MemberRef, selected: [String]) {
        w.beginObject()
        w.string(ref.kind.odataType, key: "@odata.type")
        w.string(id(of: ref), key: "id")
        for name in selected where name.lowercased() != "id" { w.null(key: name) }
        w.endObject()
    }
}
