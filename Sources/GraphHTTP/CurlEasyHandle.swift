import CCurl
import DirSyncCore
import Foundation

/// Owns one libcurl easy handle (`CURL *`) and the memory curl keeps pointers to.
///
/// Not thread-safe and deliberately not `Sendable`: a handle lives on one ``BlockingCalls/BlockingWorker``
/// thread for its whole life (see ``CurlTransport``). Reusing it across requests keeps connections alive.
/// The handle, its header list and its error buffer are freed in `deinit`.
final class CurlEasyHandle {
    /// `curl_global_init` exactly once per process, before the first handle (`swift_once` makes it thread-safe).
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    private let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// Creates a handle. See https://curl.se/libcurl/c/curl_easy_init.html
    /// - Throws: ``CurlError`` when libcurl cannot initialise.
    init() throws(CurlError) {
        let global = Self.globalInit
        guard global == CURLE_OK else { throw CurlError(global, operation: "curl_global_init") }
        guard let handle = curl_easy_init() else { throw CurlError(CURLE_FAILED_INIT, operation: "curl_easy_init") }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    /// Clears all options but keeps live connections and caches. See https://curl.se/libcurl/c/curl_easy_reset.html
    func reset() {
        curl_easy_reset(handle)
        curl_slist_free_all(headerList)
        headerList = nil
        errorBuffer[0] = 0
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
    }

    /// The error buffer's text after a failed call.
    var errorText: String { String(cString: errorBuffer) }

    private func check(_ code: CURLcode, _ option: String) throws(CurlError) {
        guard code == CURLE_OK else { throw CurlError(code, operation: "setopt(\(option))", buffer: errorText) }
    }

    /// The URL to fetch (copied by curl). See https://curl.se/libcurl/c/CURLOPT_URL.html
    func setURL(_ url: String) throws(CurlError) { try check(ccurl_easy_setopt_string(handle, CURLOPT_URL, url), "CURLOPT_URL") }

    /// No signals (required with threads). See https://curl.se/libcurl/c/CURLOPT_NOSIGNAL.html
    func setNoSignal() throws(CurlError) { try check(ccurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "CURLOPT_NOSIGNAL") }

    /// Allowed protocols, for requests and redirects. See https://curl.se/libcurl/c/CURLOPT_PROTOCOLS_STR.html
    func setProtocols(_ list: String) throws(CurlError) {
        try check(ccurl_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, list), "CURLOPT_PROTOCOLS_STR")
        try check(ccurl_easy_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, list), "CURLOPT_REDIR_PROTOCOLS_STR")
    }

    /// Never follow redirects (a 3xx is returned as is). See https://curl.se/libcurl/c/CURLOPT_FOLLOWLOCATION.html
    func setNoRedirects() throws(CurlError) { try check(ccurl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0), "CURLOPT_FOLLOWLOCATION") }

    /// Offer every encoding curl can decode (gzip, deflate…). See https://curl.se/libcurl/c/CURLOPT_ACCEPT_ENCODING.html
    func setAcceptAllEncodings() throws(CurlError) { try check(ccurl_easy_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, ""), "CURLOPT_ACCEPT_ENCODING") }

    /// HTTP/2 over TLS when the server offers it, HTTP/1.1 otherwise. See https://curl.se/libcurl/c/CURLOPT_HTTP_VERSION.html
    func setHTTP2OverTLS() throws(CurlError) {
        try check(ccurl_easy_setopt_long(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS), "CURLOPT_HTTP_VERSION")
    }

    /// Connect and total timeouts. See https://curl.se/libcurl/c/CURLOPT_CONNECTTIMEOUT_MS.html and CURLOPT_TIMEOUT_MS.html
    func setTimeouts(connectMilliseconds: Int, totalMilliseconds: Int) throws(CurlError) {
        try check(ccurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connectMilliseconds), "CURLOPT_CONNECTTIMEOUT_MS")
        try check(ccurl_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, totalMilliseconds), "CURLOPT_TIMEOUT_MS")
    }

    /// Verify the peer certificate and host name, optionally against an extra CA file or directory.
    /// See https://curl.se/libcurl/c/CURLOPT_SSL_VERIFYPEER.html and CURLOPT_CAINFO.html, CURLOPT_CAPATH.html
    func setTLSVerification(caFile: String?, caPath: String?) throws(CurlError) {
        try check(ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1), "CURLOPT_SSL_VERIFYPEER")
        try check(ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2), "CURLOPT_SSL_VERIFYHOST")
        if let caFile { try check(ccurl_easy_setopt_string(handle, CURLOPT_CAINFO, caFile), "CURLOPT_CAINFO") }
        if let caPath { try check(ccurl_easy_setopt_string(handle, CURLOPT_CAPATH, caPath), "CURLOPT_CAPATH") }
    }

    /// The method and body. GET uses CURLOPT_HTTPGET; a body is copied with CURLOPT_COPYPOSTFIELDS.
    /// See https://curl.se/libcurl/c/CURLOPT_CUSTOMREQUEST.html and CURLOPT_COPYPOSTFIELDS.html
    func setMethod(_ method: String, body: [UInt8]?) throws(CurlError) {
        let upper = method.uppercased()
        if upper == "GET", body == nil {
            try check(ccurl_easy_setopt_long(handle, CURLOPT_HTTPGET, 1), "CURLOPT_HTTPGET")
            return
        }
        if let body {
            try check(ccurl_easy_setopt_long(handle, CURLOPT_POST, 1), "CURLOPT_POST")
            try check(ccurl_easy_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "CURLOPT_POSTFIELDSIZE_LARGE")
            let code = body.withUnsafeBufferPointer { buffer -> CURLcode in
                guard let base = buffer.baseAddress else { return ccurl_easy_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "") }
                return ccurl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
            }
            try check(code, "CURLOPT_COPYPOSTFIELDS")
        }
        if upper != "POST" || body == nil {
            try check(ccurl_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, upper), "CURLOPT_CUSTOMREQUEST")
        }
    }

    /// Request headers; the list is kept alive until the next ``reset()`` or `deinit`.
    /// See https://curl.se/libcurl/c/CURLOPT_HTTPHEADER.html
    func setHeaders(_ lines: [String]) throws(CurlError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let extended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw CurlError(CURLE_OUT_OF_MEMORY, operation: "curl_slist_append")
            }
            list = extended
        }
        curl_slist_free_all(headerList)
        headerList = list
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, list), "CURLOPT_HTTPHEADER")
    }

    /// Body and header callbacks writing into `sink`, which the caller keeps alive across ``perform()``.
    /// See https://curl.se/libcurl/c/CURLOPT_WRITEFUNCTION.html and CURLOPT_HEADERFUNCTION.html
    func setSink(_ sink: ResponseSink) throws(CurlError) {
        let context = Unmanaged.passUnretained(sink).toOpaque()
        try check(ccurl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteBody), "CURLOPT_WRITEFUNCTION")
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context), "CURLOPT_WRITEDATA")
        try check(ccurl_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader), "CURLOPT_HEADERFUNCTION")
        try check(ccurl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context), "CURLOPT_HEADERDATA")
    }

    /// Runs the transfer, blocking the calling (worker) thread. See https://curl.se/libcurl/c/curl_easy_perform.html
    func perform() -> CURLcode { curl_easy_perform(handle) }

    /// The last response's status code. See https://curl.se/libcurl/c/CURLINFO_RESPONSE_CODE.html
    func responseCode() throws(CurlError) -> Int {
        var status = 0
        let code = ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard code == CURLE_OK else { throw CurlError(code, operation: "getinfo(CURLINFO_RESPONSE_CODE)") }
        return status
    }
}

/// Collects one response's body and headers; touched only inside `curl_easy_perform` on the worker thread.
final class ResponseSink {
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    /// A body larger than this aborts the transfer (a delta page is a few MB at most).
    let maxBodyBytes: Int

    init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    /// Parses one header line; a new status line (after 1xx) starts a fresh header set.
    func addHeaderLine(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") { headers.removeAll(); return }
        guard let colon = trimmed.firstIndex(of: ":") else { return }
        let name = String(trimmed[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(trimmed[trimmed.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        headers.append((name, value))
    }
}

/// CURLOPT_WRITEFUNCTION: appends to the sink; returning less than given makes curl abort (CURLE_WRITE_ERROR).
private let curlWriteBody: ccurl_data_callback = { pointer, size, count, context in
    let length = size * count
    guard let pointer, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    guard sink.body.count + length <= sink.maxBodyBytes else { return 0 }
    pointer.withMemoryRebound(to: UInt8.self, capacity: length) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
    return length
}

/// CURLOPT_HEADERFUNCTION: one header line per call.
private let curlWriteHeader: ccurl_data_callback = { pointer, size, count, context in
    let length = size * count
    guard let pointer, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let line = pointer.withMemoryRebound(to: UInt8.self, capacity: length) { String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self) }
    sink.addHeaderLine(line)
    return length
}

@available(*, unavailable)
extension CurlEasyHandle: Sendable {}

@available(*, unavailable)
extension ResponseSink: Sendable {}
