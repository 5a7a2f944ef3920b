/// One change plain reads do not see yet, with the state it changed.
enum ReplicaChange: Sendable {
    /// An object changed; `before` is nil for one that did not exist yet. For users, `extensions` holds the directory
    /// extension values it had.
    case object(resource: Resource, index: Int32, before: DirectoryObject?, extensions: [PropertyValue]?)
    /// A group gained or lost `member`; `wasMember` is what it was before.
    case membership(group: Int32, member: MemberRef, wasMember: Bool)
    /// A group's member list was emptied at once (the group was deleted for good); `before` is the list it had.
    case members(group: Int32, before: [MemberRef])
}

/// The changes of the last ``TenantSettings/listLagMillis`` milliseconds, oldest first, so plain reads can be served as
/// the directory was that long ago.
struct ReplicaLog: Sendable {
    /// Changes with the time they were made (milliseconds since 1970).
    var entries: [(atMillis: Int64, change: ReplicaChange)] = []
    /// When the mutations being applied are made: set by whoever applies them (the control API, ``GraphSimulator/withTenant(_:_:)``).
    var clockMillis: Int64 = 0
}

/// What plain reads see: the current state with the changes still inside the lag window undone.
struct ListView: Sendable {
    /// Names one object.
    struct ObjectKey: Hashable, Sendable {
        var resource: Resource
        var index: Int32
    }

    /// An object as reads see it.
    struct Snapshot: Sendable {
        /// Nil: it does not exist for reads yet.
        var object: DirectoryObject?
        /// Users: the directory extension values reads see.
        var extensions: [PropertyValue]?
    }

    /// A group's members as reads see them: `replaced` (or the current list) with `adjust` applied.
    struct MemberOverlay: Sendable {
        /// The list before the group was emptied, if that happened within the window.
        var replaced: [MemberRef]?
        /// Members whose membership reads see differently: true present, false absent.
        var adjust: [MemberRef: Bool] = [:]
    }

    /// Objects changed within the window.
    var objects: [ObjectKey: Snapshot] = [:]
    /// Groups whose members changed within the window.
    var members: [Int32: MemberOverlay] = [:]

    /// Reads see the current state.
    static let current = ListView()
}

/// Replication lag of plain reads (``TenantSettings/listLagMillis``): mutations record what they changed, and lists,
/// members and `getByIds` read through a ``ListView`` that undoes the changes younger than the lag.
extension Tenant {
    /// Sets the time the next mutations are made at (seconds since 1970).
    public mutating func setMutationClock(_ seconds: Double) {
        replicaLog.clockMillis = Int64((seconds * 1000).rounded())
    }

    /// Records a change for the lag window (nothing when there is no lag).
    mutating func recordForReplica(_ change: ReplicaChange) {
        let lag = Int64(settings.listLagMillis)
        guard lag > 0 else {
            if !replicaLog.entries.isEmpty { replicaLog.entries.removeAll() }
            return
        }
        pruneReplicaLog(nowMillis: replicaLog.clockMillis)
        replicaLog.entries.append((replicaLog.clockMillis, change))
    }

    /// Drops the changes reads see by `nowMillis`.
    mutating func pruneReplicaLog(nowMillis: Int64) {
        let cutoff = nowMillis - Int64(settings.listLagMillis)
        let visible = replicaLog.entries.prefix { $0.atMillis <= cutoff }.count
        if visible > 0 { replicaLog.entries.removeFirst(visible) }
    }

    /// The view plain reads get at `nowMillis`: O(changes within the lag window).
    func listView(nowMillis: Int64) -> ListView {
        guard settings.listLagMillis > 0, !replicaLog.entries.isEmpty else { return .current }
        let cutoff = nowMillis - Int64(settings.listLagMillis)
        var view = ListView()
        // Newest first: the oldest change within the window decides what reads see.
        for (at, change) in replicaLog.entries.reversed() {
            guard at > cutoff else { break }
            switch change {
            case .object(let resource, let index, let before, let extensions):
                view.objects[ListView.ObjectKey(resource: resource, index: index)] = ListView.Snapshot(object: before, extensions: extensions)
            case .membership(let group, let member, let wasMember):
                view.members[group, default: ListView.MemberOverlay()].adjust[member] = wasMember
            case .members(let group, let before):
                view.members[group] = ListView.MemberOverlay(replaced: before)
            }
        }
        return view
    }

    /// Object `index` of `resource` as reads see it, nil if it does not exist for them.
    func listed(_ resource: Resource, _ index: Int, in view: ListView) -> DirectoryObject? {
        if let snapshot = view.objects[ListView.ObjectKey(resource: resource, index: Int32(index))] { return snapshot.object }
        return object(resource, index)
    }

    /// Whether reads see object `index` of `resource` as live.
    func isListedLive(_ resource: Resource, _ index: Int, in view: ListView) -> Bool {
        listed(resource, index, in: view)?.lifecycle == .live
    }

    /// Whether reads see the member `ref` as a live object (devices and service principals are always live).
    func isListedLive(_ ref: MemberRef, in view: ListView) -> Bool {
        switch ref.kind {
        case .user: return isListedLive(.users, ref.index, in: view)
        case .group: return isListedLive(.groups, ref.index, in: view)
        case .orgContact: return isListedLive(.contacts, ref.index, in: view)
        case .device, .servicePrincipal: return true
        }
    }

    /// The directory extension values of user `user` as reads see them.
    func listedExtensions(user: Int, in view: ListView) -> [PropertyValue] {
        if let snapshot = view.objects[ListView.ObjectKey(resource: .users, index: Int32(user))], let values = snapshot.extensions {
            return values
        }
        return extensionValues(user: user)
    }

    /// The members of group `group` as reads see them, in ``MemberRef`` order, after `after` (nil: from the start).
    ///
    /// Calls `body` for each until it returns false. Without a lag overlay this walks the stored list directly.
    func forEachListedMember(of group: Int, after: MemberRef?, in view: ListView, _ body: (MemberRef) -> Bool) {
        let overlay = view.members[Int32(group)]
        let base = overlay?.replaced ?? members[group]
        var i = 0
        if let after {
            var low = 0, high = base.count
            while low < high {
                let mid = (low + high) / 2
                if base[mid] <= after { low = mid + 1 } else { high = mid }
            }
            i = low
        }
        guard let overlay, !overlay.adjust.isEmpty else {
            while i < base.count {
                if !body(base[i]) { return }
                i += 1
            }
            return
        }
        let added = overlay.adjust.filter { entry in entry.value && (after.map { entry.key > $0 } ?? true) }.keys.sorted()
        var j = 0
        while i < base.count || j < added.count {
            let next: MemberRef
            if j == added.count || (i < base.count && base[i] < added[j]) {
                next = base[i]; i += 1
                if overlay.adjust[next] == false { continue }
            } else {
                next = added[j]; j += 1
                if i < base.count && base[i] == next { i += 1 }
            }
            if !body(next) { return }
        }
    }

    // MARK: Hooks the mutations call

    /// After object `index` of `resource` changed from `before` (nil: it was created): keeps the `startswith` indexes
    /// current and records the change for the lag window.
    mutating func didChange(_ resource: Resource, _ index: Int, before: DirectoryObject?, extensionsBefore: [PropertyValue]? = nil) {
        reindex(resource, index, before: before)
        guard settings.listLagMillis > 0 else { return }
        recordForReplica(.object(resource: resource, index: Int32(index), before: before, extensions: extensionsBefore))
    }

    /// After group `group` gained or lost `member`.
    mutating func didChangeMembership(group: Int, member: MemberRef, wasMember: Bool) {
        guard settings.listLagMillis > 0 else { return }
        recordForReplica(.membership(group: Int32(group), member: member, wasMember: wasMember))
    }

    /// Before group `group`'s member list is emptied at once.
    mutating func willClearMembers(group: Int) {
        guard settings.listLagMillis > 0 else { return }
        recordForReplica(.members(group: Int32(group), before: members[group]))
    }

    /// The directory extension values to record before user `user` changes (nil when nothing is recorded).
    func extensionsForReplica(user: Int) -> [PropertyValue]? {
        settings.listLagMillis > 0 ? extensionValues(user: user) : nil
    }
}
