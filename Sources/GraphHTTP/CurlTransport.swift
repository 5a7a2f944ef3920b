import BlockingCalls
import CCurl
import DirSyncCore
import Foundation
import Synchronization

/// ``DirSyncCore/HTTPTransport`` over libcurl.
///
/// A small pool of easy handles, each created, used and reset on its own ``BlockingWorker`` thread,
/// so `curl_easy_perform` never blocks the cooperative pool and connections are kept alive between
/// requests. Every request: HTTP/HTTPS only, no redirects, gzip accepted, HTTP/2 over TLS when
/// offered, connect and total timeouts, TLS verification always on. Plain `http://` is allowed only
/// to loopback addresses (127.0.0.0/8, `::1`) and refused before anything is sent.
public final class CurlTransport: HTTPTransport {
    /// Transport settings.
    public struct Configuration: Sendable {
        /// Concurrent transfers (one worker thread and one connection cache each).
        public var connections: Int
        /// The connect timeout, in seconds.
        public var connectTimeout: TimeInterval
        /// The whole-transfer timeout, in seconds.
        public var requestTimeout: TimeInterval
        /// An extra CA bundle file (CURLOPT_CAINFO), e.g. a corporate TLS proxy's root.
        public var caFile: String?
        /// An extra CA directory (CURLOPT_CAPATH).
        public var caPath: String?
        /// The largest body accepted, in bytes.
        public var maxBodyBytes: Int

        public init(connections: Int = 2, connectTimeout: TimeInterval = 10, requestTimeout: TimeInterval = 120,
                    caFile: String? = nil, caPath: String? = nil, maxBodyBytes: Int = 256 << 20) {
            self.connections = max(1, connections)
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.caFile = caFile
            self.caPath = caPath
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// One worker thread and the handle it owns. `handle` is only touched on `worker`'s thread.
    private final class Slot: @unchecked Sendable {
        // @unchecked: `handle` is created, used and reset only inside `worker.run`, which runs jobs
        // one at a time on the worker's single thread.
        let worker: BlockingWorker
        var handle: CurlEasyHandle?

        init(name: String) { worker = BlockingWorker(name: name) }
    }

    private let configuration: Configuration
    private let profiler: any Profiler
    private let slots: [Slot]
    /// Requests queued or running per slot. A request goes to the least busy slot (the lowest index
    /// among equals, so connections stay warm): round-robin would let two concurrent rounds queue
    /// behind each other's network latency on one thread while another handle sits idle.
    private let inFlight: Mutex<[Int]>

    /// Starts `configuration.connections` worker threads; handles are created on first use.
    /// - Parameter profiler: counts the CPU each transfer spends (``ProfilePhase/fetch``).
    public init(configuration: Configuration = Configuration(), profiler: any Profiler = NoProfiler()) {
        self.configuration = configuration
        self.profiler = profiler
        slots = (0..<configuration.connections).map { Slot(name: "dirsync-curl-\($0)") }
        inFlight = Mutex([Int](repeating: 0, count: configuration.connections))
    }

    deinit {
        for slot in slots { slot.worker.shutdown() }
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try Self.checkDestination(request.url)
        let index = inFlight.withLock { counts -> Int in
            let chosen = counts.indices.min { counts[$0] < counts[$1] }!
            counts[chosen] += 1
            return chosen
        }
        defer { inFlight.withLock { $0[index] -= 1 } }
        let slot = slots[index]
        let configuration = configuration
        let profiler = profiler
        return try await slot.worker.run { () throws -> HTTPResponse in
            let handle: CurlEasyHandle
            if let existing = slot.handle {
                handle = existing
            } else {
                do throws(CurlError) {
                    handle = try CurlEasyHandle()
                } catch {
                    throw error.transportError
                }
                slot.handle = handle
            }
            return try profiler.measure(.fetch) { () throws(TransportError) -> HTTPResponse in
                try Self.transfer(request, on: handle, configuration: configuration)
            }
        }
    }

    /// Runs one transfer on the calling (worker) thread.
    private static func transfer(_ request: HTTPRequest, on handle: CurlEasyHandle, configuration: Configuration) throws(TransportError) -> HTTPResponse {
        let sink = ResponseSink(maxBodyBytes: configuration.maxBodyBytes)
        handle.reset()
        do {
            try handle.setURL(request.url)
            try handle.setNoSignal()
            try handle.setProtocols("http,https")
            try handle.setNoRedirects()
            try handle.setAcceptAllEncodings()
            try handle.setHTTP2OverTLS()
            try handle.setTimeouts(connectMilliseconds: Int(configuration.connectTimeout * 1000), totalMilliseconds: Int(configuration.requestTimeout * 1000))
            try handle.setTLSVerification(caFile: configuration.caFile, caPath: configuration.caPath)
            try handle.setMethod(request.method, body: request.body)
            // "Expect:" stops curl from waiting for 100-continue on POST bodies.
            try handle.setHeaders(request.headers.map { "\($0.name): \($0.value)" } + (request.body == nil ? [] : ["Expect:"]))
            try handle.setSink(sink)
        } catch {
            throw TransportError(kind: .other, message: CurlError(code: error.code, operation: error.operation, message: error.message, url: request.url).description)
        }
        let code = withExtendedLifetime(sink) { handle.perform() }
        guard code == CURLE_OK else {
            if code == CURLE_WRITE_ERROR, sink.body.count >= configuration.maxBodyBytes - 1 {
                throw TransportError(kind: .other, message: "the response from \(URLRedaction.withoutQuery(request.url)) exceeded \(configuration.maxBodyBytes) bytes")
            }
            throw CurlError(code, operation: "perform", buffer: handle.errorText, url: request.url).transportError
        }
        let status: Int
        do { status = try handle.responseCode() } catch { throw error.transportError }
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }

    /// Refuses anything but https, except plain http to a loopback address.
    ///
    /// The URL is parsed with libcurl's own URL parser (the one that will connect), so a URL cannot
    /// look like loopback to this check and reach another host in curl.
    /// - Throws: ``TransportError`` of kind `.refused`.
    public static func checkDestination(_ url: String) throws(TransportError) {
        let shown = URLRedaction.withoutQuery(url)
        guard let parts = CurlURLParts(url) else {
            throw TransportError(kind: .refused, message: "refused to send a request to a malformed URL \(shown)")
        }
        switch parts.scheme {
        case "https":
            return
        case "http":
            guard isLoopback(parts.host) else {
                throw TransportError(kind: .refused, message: "refused plain http to \(parts.host): only https is allowed outside loopback (\(shown))")
            }
        default:
            throw TransportError(kind: .refused, message: "refused the URL scheme \(parts.scheme) (\(shown)): only https, or http to loopback")
        }
    }

    /// Whether `host` is a literal loopback address: 127.0.0.0/8 or `::1` (brackets allowed).
    public static func isLoopback(_ host: String) -> Bool {
        var host = host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }
}

/// Scheme and host of a URL as libcurl's URL API parses it. See https://curl.se/libcurl/c/curl_url_get.html
struct CurlURLParts {
    let scheme: String
    let host: String

    init?(_ url: String) {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK else { return nil }
        func part(_ which: CURLUPart) -> String? {
            var out: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &out, 0) == CURLUE_OK, let out else { return nil }
            defer { curl_free(out) }
            return String(cString: out)
        }
        guard let scheme = part(CURLUPART_SCHEME)?.lowercased(), let host = part(CURLUPART_HOST)?.lowercased() else { return nil }
        // User-info is never legitimate here and only serves to disguise hosts.
        if part(CURLUPART_USER) != nil || part(CURLUPART_PASSWORD) != nil { return nil }
        self.scheme = scheme
        self.host = host
    }
}
