import Foundation

/// Where one stream of a parallel first load stands: its next link, or done.
public struct StreamProgress: Sendable, Equatable {
    public var stream: LoadStream
    /// The next page's link; `nil` when the stream is done.
    public var link: String?
    public var pages = 0
    public var objects = 0
    /// Times the stream started over (its page token expired, its delta state was lost).
    public var restarts = 0
    /// For a group chunk: its group ids.
    public var groupIDs: [UUID] = []

    public var done: Bool { link == nil }

    public init(stream: LoadStream, link: String?, pages: Int = 0, objects: Int = 0, restarts: Int = 0, groupIDs: [UUID] = []) {
        self.stream = stream
        self.link = link
        self.pages = pages
        self.objects = objects
        self.restarts = restarts
        self.groupIDs = groupIDs
    }
}

/// The next request of a parallel first load.
public struct LoadRequest: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A plain list page of objects.
        case objects
        /// A list page of ids only.
        case ids
        /// A page of a scoped `groups/delta` chain.
        case groupsDelta
    }

    public var stream: LoadStream
    public var link: String
    public var kind: Kind
    /// Resource units Graph charges for it (as documented; corrected by `x-ms-resource-unit`).
    public var estimatedCost: Int
}

/// Which page a parallel first load asks for next, and what each answer changes: every stream is a
/// chain (one request in flight each), group ids turn into scoped chains of ``FirstLoadPlan/groupsPerChunk``
/// groups as they arrive, a stream whose page token expired starts over, and the load is listed when
/// every stream and chunk is done. A chunk is done only when its whole chain is: nothing is skipped.
public struct LoadScheduler: Sendable, Equatable {
    public private(set) var streams: [LoadStream: StreamProgress]
    private var inFlight: Set<LoadStream> = []
    private let firstLinks: [LoadStream: String]
    private let endpoints: GraphEndpoints
    private let schema: DirectorySchema
    /// The next chunk's number.
    public private(set) var nextChunk: Int

    /// A scheduler over `progress` (a new load's first links, or what a killed load stored).
    public init(progress: [StreamProgress], endpoints: GraphEndpoints, schema: DirectorySchema, firstChunk: Int = 0) {
        self.endpoints = endpoints
        self.schema = schema
        streams = Dictionary(uniqueKeysWithValues: progress.map { ($0.stream, $0) })
        var first: [LoadStream: String] = [:]
        for stream in FirstLoadPlan.streams() { first[stream] = FirstLoadPlan.firstLink(stream, endpoints: endpoints, schema: schema) }
        for entry in progress {
            if case .groups = entry.stream { first[entry.stream] = endpoints.scopedGroupsDeltaURL(schema.groups, ids: entry.groupIDs) }
        }
        firstLinks = first
        nextChunk = max(firstChunk, progress.compactMap { if case .groups(let n) = $0.stream { n } else { nil } }.max().map { $0 + 1 } ?? 0)
    }

    /// The streams of a new load, each at its first link.
    public static func fresh(endpoints: GraphEndpoints, schema: DirectorySchema) -> [StreamProgress] {
        FirstLoadPlan.streams().map { StreamProgress(stream: $0, link: FirstLoadPlan.firstLink($0, endpoints: endpoints, schema: schema)) }
    }

    /// Whether every stream and chunk read its last page.
    public var isListed: Bool { streams.values.allSatisfy(\.done) && inFlight.isEmpty }

    /// Requests in flight.
    public var inFlightCount: Int { inFlight.count }

    /// Chunks of groups, and how many are done.
    public var chunkCounts: (done: Int, total: Int) {
        var done = 0, total = 0
        for (stream, progress) in streams {
            guard case .groups = stream else { continue }
            total += 1
            if progress.done { done += 1 }
        }
        return (done, total)
    }

    /// The next request to send, if a stream can take one: group ids first (they feed the chunks),
    /// then chunks in order, then the users' partitions and the rest.
    public mutating func next() -> LoadRequest? {
        let waiting = streams.values.filter { !$0.done && !inFlight.contains($0.stream) }
        guard let chosen = waiting.min(by: { Self.priority($0.stream) < Self.priority($1.stream) }), let link = chosen.link else { return nil }
        inFlight.insert(chosen.stream)
        return LoadRequest(stream: chosen.stream, link: link, kind: Self.kind(chosen.stream), estimatedCost: Self.cost(chosen.stream, schema: schema))
    }

    private static func priority(_ stream: LoadStream) -> (Int, Int, String) {
        switch stream {
        case .groupIDs: (0, 0, "")
        case .groups(let chunk): (1, chunk, "")
        case .users(let prefix): (2, 0, prefix)
        case .userIDs: (3, 0, "")
        case .contacts: (4, 0, "")
        }
    }

    private static func kind(_ stream: LoadStream) -> LoadRequest.Kind {
        switch stream {
        case .users, .contacts: .objects
        case .userIDs, .groupIDs: .ids
        case .groups: .groupsDelta
        }
    }

    /// Graph's documented costs: users 2 (1 with `$select`), +1 with `$expand`; groups and contacts
    /// 1; delta is not listed (1 assumed).
    private static func cost(_ stream: LoadStream, schema: DirectorySchema) -> Int {
        switch stream {
        case .users: schema.users.contractFields.contains { $0.kind == .reference } ? 2 : 1
        case .userIDs, .groupIDs, .contacts, .groups: 1
        }
    }

    /// A page of `stream` arrived with `objects` objects and `nextLink`; for the group-ids stream,
    /// `groupIDs` are the ids on the page. Returns the progress to store with the page, and the
    /// chunks the page's group ids formed (to store with it too).
    public mutating func received(_ stream: LoadStream, objects: Int, nextLink: String?, groupIDs: [UUID] = []) -> (StreamProgress, [StreamProgress]) {
        inFlight.remove(stream)
        var progress = streams[stream]!
        progress.link = nextLink
        progress.pages += 1
        progress.objects += objects
        streams[stream] = progress
        return (progress, chunks(of: groupIDs))
    }

    /// New scoped chains over `groupIDs`, ``FirstLoadPlan/groupsPerChunk`` groups each.
    public mutating func chunks(of groupIDs: [UUID]) -> [StreamProgress] {
        var chunks: [StreamProgress] = []
        var start = 0
        while start < groupIDs.count {
            let ids = Array(groupIDs[start..<min(start + FirstLoadPlan.groupsPerChunk, groupIDs.count)])
            let chunk = StreamProgress(stream: .groups(nextChunk), link: endpoints.scopedGroupsDeltaURL(schema.groups, ids: ids), groupIDs: ids)
            streams[chunk.stream] = chunk
            chunks.append(chunk)
            nextChunk += 1
            start += FirstLoadPlan.groupsPerChunk
        }
        return chunks
    }

    /// `stream`'s chain cannot go on (its page token expired, Graph lost its delta state): it starts
    /// over from its first link. What it wrote stays; reading it again changes nothing.
    public mutating func restart(_ stream: LoadStream) -> StreamProgress {
        inFlight.remove(stream)
        var progress = streams[stream]!
        progress.link = firstLinks[stream]
        progress.restarts += 1
        streams[stream] = progress
        return progress
    }

    /// A request failed for good; the stream may be asked again (the load fails or is retried as a whole).
    public mutating func failed(_ stream: LoadStream) {
        inFlight.remove(stream)
    }
}
