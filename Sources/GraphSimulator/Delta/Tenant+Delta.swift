/// One page of a delta round.
public struct DeltaPage: Sendable {
    /// The JSON body.
    public var body: [UInt8]
    /// The token of the next page (skiptoken) or of the next round (deltatoken, when `isFinal`).
    public var next: DeltaToken
    /// Whether this page ends the round (it carries `@odata.deltaLink`).
    public var isFinal: Bool
    /// Number of objects in `value` (a group split over pages counts once per page).
    public var objectCount: Int
}

/// Everything collapsed from a slice of a change log for one object.
struct ChangeItem: Sendable {
    var object: Int32
    var whole: Bool
    var mask: UInt64
    /// Groups: members added or removed in the slice.
    var touched: [MemberRef]
    /// Users: whether the manager changed in the slice.
    var managerTouched = false
    /// Users: the manager before the slice's first manager change.
    var managerBefore = MemberRef.none
}

struct DeltaCacheKey: Hashable, Sendable {
    var resource: Resource
    var from: Int
    var head: Int
    var tracked: UInt64
    var members: Bool
    var manager: Bool
}

/// Links and limits a page needs from the caller.
public struct DeltaPageContext: Sendable {
    /// Value of `@odata.context`.
    public var odataContext: String
    /// Absolute link prefix ending in `$skiptoken=`.
    public var nextLinkPrefix: String
    /// Absolute link prefix ending in `$deltatoken=`.
    public var deltaLinkPrefix: String
    /// Key that scrambles tokens.
    public var tokenKey: UInt64
    /// Objects per page.
    public var pageSize: Int
    /// `members@delta` entries per page before a group is split.
    public var memberBudget: Int
    /// `Prefer: return=minimal`.
    public var minimal: Bool
    /// Issue time of new tokens.
    public var nowMillis: Int64

    /// Creates a context.
    public init(odataContext: String, nextLinkPrefix: String, deltaLinkPrefix: String, tokenKey: UInt64,
                pageSize: Int, memberBudget: Int, minimal: Bool, nowMillis: Int64) {
        self.odataContext = odataContext
        self.nextLinkPrefix = nextLinkPrefix
        self.deltaLinkPrefix = deltaLinkPrefix
        self.tokenKey = tokenKey
        self.pageSize = pageSize
        self.memberBudget = memberBudget
        self.minimal = minimal
        self.nowMillis = nowMillis
    }
}

extension Tenant {
    /// The token that starts a full (initial) round now.
    public func initialRound(_ resource: Resource, selection: DeltaSelection, epoch: UInt32, nowMillis: Int64) -> DeltaToken {
        DeltaToken(isDelta: false, resource: resource, tenant: index, epoch: epoch, selection: selection, from: -1,
                   head: head(resource), bound: count(resource), item: 0, memberAfter: nil, issuedAtMillis: nowMillis)
    }

    /// The token that starts an incremental round from a deltaLink's position now.
    public func incrementalRound(from delta: DeltaToken, nowMillis: Int64) -> DeltaToken {
        var token = delta
        token.isDelta = false
        token.head = head(delta.resource)
        token.item = 0
        token.memberAfter = nil
        token.issuedAtMillis = nowMillis
        return token
    }

    /// The deltaLink token for "from now on" (`$deltatoken=latest`).
    public func latestDelta(_ resource: Resource, selection: DeltaSelection, epoch: UInt32, nowMillis: Int64) -> DeltaToken {
        DeltaToken(isDelta: true, resource: resource, tenant: index, epoch: epoch, selection: selection,
                   from: head(resource), head: head(resource), bound: 0, item: 0, memberAfter: nil, issuedAtMillis: nowMillis)
    }

    /// Collapses log positions `(from, head]` into one item per object, in order of first change,
    /// keeping only objects whose change is visible under `selection`.
    func changeItems(_ resource: Resource, from: Int, head: Int, selection: DeltaSelection) -> [ChangeItem] {
        let log = self.log(resource)
        var order: [Int32] = []
        var slots: [Int32: Int] = [:]
        var items: [ChangeItem] = []
        var lifecycleEvent: [Bool] = []
        for entry in log[from..<min(head, log.count)] {
            let slot: Int
            if let existing = slots[entry.object] {
                slot = existing
            } else {
                slot = items.count
                slots[entry.object] = slot
                order.append(entry.object)
                items.append(ChangeItem(object: entry.object, whole: false, mask: 0, touched: []))
                lifecycleEvent.append(false)
            }
            switch entry.kind {
            case .created, .restored: items[slot].whole = true; lifecycleEvent[slot] = true
            case .softDeleted, .hardDeleted: lifecycleEvent[slot] = true
            case .updated: items[slot].mask |= entry.mask
            case .memberAdded, .memberRemoved: items[slot].touched.append(entry.member)
            case .managerChanged:
                if !items[slot].managerTouched { items[slot].managerBefore = entry.member }
                items[slot].managerTouched = true
            }
        }
        var result: [ChangeItem] = []
        result.reserveCapacity(items.count)
        for (slot, var item) in items.enumerated() {
            let visible = lifecycleEvent[slot] || item.mask & selection.tracked != 0
                || (selection.members && !item.touched.isEmpty) || (selection.manager && item.managerTouched)
            guard visible else { continue }
            if !item.touched.isEmpty { item.touched = Array(Set(item.touched)).sorted() }
            result.append(item)
        }
        return result
    }

    /// Builds the page `token` points at.
    public mutating func deltaPage(_ token: DeltaToken, context: DeltaPageContext) -> DeltaPage {
        let resource = token.resource
        let incremental = token.from >= 0
        var changes: [ChangeItem] = []
        if incremental {
            let key = DeltaCacheKey(resource: resource, from: token.from, head: token.head,
                                    tracked: token.selection.tracked, members: token.selection.members, manager: token.selection.manager)
            if let cached = deltaCache[key] {
                changes = cached
            } else {
                changes = changeItems(resource, from: token.from, head: token.head, selection: token.selection)
                if deltaCache.count >= 16 { deltaCache.removeAll(keepingCapacity: true) }
                deltaCache[key] = changes
            }
            if let scope = token.scope {
                let covered = Set(scope)
                changes = changes.filter { covered.contains($0.object) }
            }
        }
        let itemCount = incremental ? changes.count : token.scope.map(\.count) ?? min(token.bound, count(resource))
        var value = JSONWriter()
        value.beginArray()
        var item = token.item
        var after = token.memberAfter
        if item < itemCount, !token.afterEmptyPage, settings.emptyPageRate > 0,
           isChosen(token.resource, from: token.from, item: item, salt: 0x5EED, rate: settings.emptyPageRate) {
            var next = token
            next.isDelta = false
            next.afterEmptyPage = true
            next.issuedAtMillis = context.nowMillis
            var page = JSONWriter()
            page.beginObject()
            page.string(context.odataContext, key: "@odata.context")
            page.string(context.nextLinkPrefix + next.encode(key: context.tokenKey), key: "@odata.nextLink")
            page.beginArray("value"); page.endArray()
            page.endObject()
            return DeltaPage(body: page.bytes, next: next, isFinal: false, objectCount: 0)
        }
        var count = 0
        var budget = context.memberBudget
        var split = false

        func describe(_ i: Int) -> ChangeItem {
            incremental ? changes[i] : ChangeItem(object: token.scope?[i] ?? Int32(i), whole: true, mask: 0, touched: [])
        }

        if item > 0, item <= itemCount, after == nil, isDuplicate(resource, from: token.from, item: item - 1) {
            writeItem(&value, describe(item - 1), token: token, context: context, entries: nil)
            count += 1
        }
        while item < itemCount && count < context.pageSize {
            let change = describe(item)
            let index = Int(change.object)
            if resource == .groups && token.selection.members && groups[index].lifecycle == .live {
                let whole = change.whole
                // A whole object lists its current members. In an incremental round it was created
                // or restored since the client's position, and a restored group's client still holds
                // the memberships it had: members removed since then must be reported as removed too.
                let source = whole ? Self.mergedSorted(members[index], change.touched) : change.touched
                var start = 0
                if let after {
                    var low = 0, high = source.count
                    while low < high {
                        let mid = (low + high) / 2
                        if source[mid] <= after { low = mid + 1 } else { high = mid }
                    }
                    start = low
                }
                let remaining = source.count - start
                if remaining > 0 {
                    if budget == 0 { break }
                    let take = min(remaining, budget)
                    let slice = Array(source[start..<(start + take)])
                    writeItem(&value, change, token: token, context: context,
                              entries: slice.map { (ref: $0, removed: Self.position(of: $0, in: members[index]) == nil) })
                    budget -= take
                    count += 1
                    if take < remaining {
                        after = slice.last
                        split = true
                        break
                    }
                    after = nil
                    item += 1
                    continue
                }
            }
            writeItem(&value, change, token: token, context: context, entries: nil)
            count += 1
            item += 1
            after = nil
        }
        value.endArray()

        let isFinal = !split && item >= itemCount
        var next = token
        next.issuedAtMillis = context.nowMillis
        if isFinal {
            next.isDelta = true
            next.from = token.head
            next.bound = 0
            next.item = 0
            next.memberAfter = nil
        } else {
            next.isDelta = false
            next.item = item
            next.memberAfter = after
        }
        next.afterEmptyPage = false
        var page = JSONWriter()
        page.beginObject()
        page.string(context.odataContext, key: "@odata.context")
        if isFinal {
            page.string(context.deltaLinkPrefix + next.encode(key: context.tokenKey), key: "@odata.deltaLink")
        } else {
            page.string(context.nextLinkPrefix + next.encode(key: context.tokenKey), key: "@odata.nextLink")
        }
        page.raw(value.bytes, key: "value")
        page.endObject()
        return DeltaPage(body: page.bytes, next: next, isFinal: isFinal, objectCount: count)
    }

    /// Seeded decision whether item `item` of a round is served a second time at the start of the next page.
    func isDuplicate(_ resource: Resource, from: Int, item: Int) -> Bool {
        isChosen(resource, from: from, item: item, salt: 0, rate: settings.duplicateRate)
    }

    /// The sorted union of two sorted member lists.
    static func mergedSorted(_ a: [MemberRef], _ b: [MemberRef]) -> [MemberRef] {
        guard !b.isEmpty else { return a }
        var result: [MemberRef] = []
        result.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) { result.append(a[i]); i += 1 }
            else if i == a.count || b[j] < a[i] { result.append(b[j]); j += 1 }
            else { result.append(a[i]); i += 1; j += 1 }
        }
        return result
    }

    /// A seeded per-position coin flip, so replays of the same round behave the same.
    func isChosen(_ resource: Resource, from: Int, item: Int, salt: UInt64, rate: Double) -> Bool {
        guard rate > 0 else { return false }
        // Users and groups keep the streams they always had; contacts get one no tenant's users or groups use.
        let stream = resource == .contacts ? 0xC0_47AC_7000_0000 | UInt64(index) : UInt64(index) << 1 | UInt64(resource.rawValue)
        var rng = SeededRandom(seed: (UInt64(truncatingIfNeeded: item) &* 31 &+ UInt64(truncatingIfNeeded: from &+ 7)) ^ salt,
                               stream: stream)
        return rng.chance(rate)
    }

    private func writeItem(_ w: inout JSONWriter, _ change: ChangeItem, token: DeltaToken, context: DeltaPageContext,
                           entries: [(ref: MemberRef, removed: Bool)]?) {
        let resource = token.resource
        let index = Int(change.object)
        let object = self.object(resource, index)
        let selection = token.selection
        w.beginObject()
        switch object.lifecycle {
        case .hardDeleted, .softDeleted:
            w.string(object.id, key: "id")
            w.beginObject("@removed")
            w.string(object.lifecycle == .hardDeleted ? "deleted" : "changed", key: "reason")
            w.endObject()
        case .live:
            let incremental = token.from >= 0
            let onlyChanged = incremental && !change.whole && context.minimal
            let names = resource.properties
            // Derive a generated object's other properties only when the selection asks for one of them.
            let storedBits: UInt64 = object.values.count >= 64 ? .max : (1 << UInt64(object.values.count)) - 1
            let needsDerived = selection.returned & 0xFFFF_FFFF & ~storedBits != 0
            let values = needsDerived ? self.values(resource, index) : object.values
            for ordinal in names.indices where selection.returned & (1 << UInt64(ordinal)) != 0 {
                let value = values[ordinal]
                if onlyChanged {
                    guard change.mask & (1 << UInt64(ordinal)) != 0 else { continue }
                } else if value == .unset {
                    continue
                }
                Self.write(value, key: names[ordinal], to: &w)
            }
            if resource == .users && selection.returned >> 32 != 0 {
                for ext in directoryExtensions.indices where selection.returned & Self.extensionBit(ext) != 0 {
                    // A change marks every extension of its type; one never set stays absent all the same.
                    let value = extensionValue(ext, user: index)
                    guard value != .unset, !onlyChanged || change.mask & Self.extensionBit(ext) != 0 else { continue }
                    Self.write(value, key: directoryExtensions[ext].name, to: &w)
                }
            }
            w.string(object.id, key: "id")
            if let entries, !entries.isEmpty {
                w.beginArray("members@delta")
                for entry in entries { writeReference(&w, entry.ref, removed: entry.removed) }
                w.endArray()
            }
            if resource == .users && selection.manager {
                // The current manager in a full round, and in a later round only when it changed (with or without
                // return=minimal, as relationships are reported as changes); a manager removed since the client's
                // position comes as the old one marked removed. graph-sim's choices: Graph documents only that the
                // relationship is reported as `manager@delta`, so this follows what it documents for `members@delta`.
                let current = manager(of: index)
                var entry: (ref: MemberRef, removed: Bool)?
                if !incremental || change.whole || change.managerTouched {
                    if !current.isNone {
                        entry = (current, false)
                    } else if change.managerTouched && !change.managerBefore.isNone {
                        entry = (change.managerBefore, true)
                    }
                }
                if let entry {
                    w.beginArray("manager@delta")
                    writeReference(&w, entry.ref, removed: entry.removed)
                    w.endArray()
                }
            }
        }
        w.endObject()
    }

    /// `{"@odata.type","id"}`, with `"@removed":{"reason":"deleted"}` for a relationship that ended.
    private func writeReference(_ w: inout JSONWriter, _ ref: MemberRef, removed: Bool) {
        w.beginObject()
        w.string(ref.kind.odataType, key: "@odata.type")
        w.string(id(of: ref), key: "id")
        if removed {
            w.beginObject("@removed")
            w.string("deleted", key: "reason")
            w.endObject()
        }
        w.endObject()
    }

    /// Writes one property value as Graph does (`unset` and `null` both as `null`; callers leave `unset` out).
    static func write(_ value: PropertyValue, key: String, to w: inout JSONWriter) {
        switch value {
        case .unset, .null: w.null(key: key)
        case .string(let s): w.string(s, key: key)
        case .bool(let b): w.bool(b, key: key)
        case .strings(let list): w.strings(list, key: key)
        case .int(let n): w.int(n, key: key)
        case .attributes(let attributes): attributes.write(&w, key: key)
        }
    }
}
