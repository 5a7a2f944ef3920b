/// Names one `startswith` index: a resource and one of its string properties.
struct PrefixIndexKey: Hashable, Sendable {
    var resource: Resource
    var ordinal: Int
}

/// The live objects of one resource that have a value for one string property, ordered by that value lower-cased (as
/// UTF-8 bytes) and then by object index.
///
/// Every object whose value starts with a prefix sits in one run of entries, found by two binary searches, so a filtered
/// list page costs O(log n + page) however large the tenant is.
struct PrefixIndex: Sendable {
    /// One indexed object.
    struct Entry: Sendable {
        /// The property value, lower-cased.
        var key: String
        /// The object's index in its table.
        var index: Int32
    }

    /// Entries in (key, index) order.
    private(set) var entries: [Entry]

    /// Builds an index from unordered entries.
    init(unordered: [Entry]) {
        entries = unordered.sorted { Self.compare($0.key, $0.index, $1.key, $1.index) < 0 }
    }

    /// Byte-wise comparison of two UTF-8 strings: -1, 0 or 1.
    static func compare(_ a: String, _ b: String) -> Int {
        var left = a.utf8.makeIterator(), right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?) where x != y: return x < y ? -1 : 1
            default: continue
            }
        }
    }

    /// Orders (key, index) pairs: -1, 0 or 1.
    static func compare(_ key: String, _ index: Int32, _ otherKey: String, _ otherIndex: Int32) -> Int {
        let byKey = compare(key, otherKey)
        if byKey != 0 { return byKey }
        return index == otherIndex ? 0 : (index < otherIndex ? -1 : 1)
    }

    /// The position of the first entry for which `isBefore` is false (`isBefore` must hold for a prefix of the entries).
    private func partition(_ isBefore: (Entry) -> Bool) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if isBefore(entries[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The position of the first entry ordered after (`key`, `index`).
    func position(after key: String, index: Int32) -> Int {
        partition { Self.compare($0.key, $0.index, key, index) <= 0 }
    }

    /// The positions of the entries whose key starts with `prefix` (lower-cased).
    func range(prefix: String) -> Range<Int> {
        let start = partition { Self.compare($0.key, prefix) < 0 }
        let end = partition { Self.compare($0.key, prefix) < 0 || $0.key.utf8.starts(with: prefix.utf8) }
        return start..<max(start, end)
    }

    /// Adds an entry.
    mutating func insert(key: String, index: Int32) {
        entries.insert(Entry(key: key, index: index), at: position(after: key, index: index))
    }

    /// Removes an entry, if present.
    mutating func remove(key: String, index: Int32) {
        let at = partition { Self.compare($0.key, $0.index, key, index) < 0 }
        if at < entries.count && entries[at].index == index && Self.compare(entries[at].key, key) == 0 { entries.remove(at: at) }
    }
}

/// `startswith` filters: which properties serve them, and the indexes behind them.
extension Tenant {
    /// The properties graph-sim serves `startswith` on, by resource: for users `userPrincipalName`, `displayName`,
    /// `givenName`, `surname` and `mail`; for groups `displayName`, `mail` and `mailNickname`; for contacts
    /// `displayName`, `givenName`, `surname`, `mail` and `mailNickname`. Graph documents `startsWith` on each of them
    /// as supported by default (without advanced query parameters). Each is stored for every object, never derived.
    static func startsWithOrdinals(_ resource: Resource) -> [Int] {
        switch resource {
        case .users:
            return [UserProperty.userPrincipalName, UserProperty.displayName, UserProperty.givenName, UserProperty.surname, UserProperty.mail]
        case .groups:
            return [GroupProperty.displayName, GroupProperty.mail, GroupProperty.mailNickname]
        case .contacts:
            return [ContactProperty.displayName, ContactProperty.givenName, ContactProperty.surname, ContactProperty.mail,
                    ContactProperty.mailNickname]
        }
    }

    /// The key an object is indexed under for property `ordinal`: its value lower-cased, or nil when it has none (an
    /// object without a value matches no `startswith`) or is not live.
    ///
    /// Graph's filter examples find users named Mary with `startswith(displayName,'mary')`: the match ignores case.
    static func prefixKey(_ object: DirectoryObject, ordinal: Int) -> String? {
        guard object.lifecycle == .live, ordinal < object.values.count, case .string(let text) = object.values[ordinal] else { return nil }
        return text.lowercased()
    }

    /// The index of property `ordinal` of `resource`, built on first use.
    mutating func prefixIndex(_ resource: Resource, ordinal: Int) -> PrefixIndex {
        let key = PrefixIndexKey(resource: resource, ordinal: ordinal)
        if let built = prefixIndexes[key] { return built }
        var entries: [PrefixIndex.Entry] = []
        entries.reserveCapacity(liveCount(resource))
        for (i, object) in objects(resource).enumerated() {
            if let text = Self.prefixKey(object, ordinal: ordinal) { entries.append(PrefixIndex.Entry(key: text, index: Int32(i))) }
        }
        let index = PrefixIndex(unordered: entries)
        prefixIndexes[key] = index
        return index
    }

    /// Keeps every built index of `resource` current after object `index` changed from `before` (nil: it was created).
    mutating func reindex(_ resource: Resource, _ index: Int, before: DirectoryObject?) {
        guard !prefixIndexes.isEmpty else { return }
        let after = object(resource, index)
        for key in prefixIndexes.keys where key.resource == resource {
            let old = before.flatMap { Self.prefixKey($0, ordinal: key.ordinal) }
            let new = Self.prefixKey(after, ordinal: key.ordinal)
            guard old != new else { continue }
            if let old { prefixIndexes[key]?.remove(key: old, index: Int32(index)) }
            if let new { prefixIndexes[key]?.insert(key: new, index: Int32(index)) }
        }
    }
}
