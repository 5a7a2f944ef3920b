import CCurl
import DirSyncCore

/// A libcurl failure: the `CURLcode`, which call failed, curl's error-buffer text and the URL
/// without its query string. Never carries request headers (they hold the bearer token).
public struct CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The raw `CURLcode` (see https://curl.se/libcurl/c/libcurl-errors.html).
    public var code: UInt32
    /// The curl call or option that failed, e.g. `perform` or `setopt(CURLOPT_URL)`.
    public var operation: String
    /// `CURLOPT_ERRORBUFFER` text, or `curl_easy_strerror` when the buffer is empty.
    public var message: String
    /// The request URL up to the query.
    public var url: String?

    public init(code: UInt32, operation: String, message: String, url: String? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.url = url.map(URLRedaction.withoutQuery)
    }

    init(_ code: CURLcode, operation: String, buffer: String = "", url: String? = nil) {
        let text = buffer.isEmpty ? String(cString: curl_easy_strerror(code)) : buffer
        self.init(code: code.rawValue, operation: operation, message: text, url: url)
    }

    public var description: String {
        "curl error \(code) in \(operation): \(message)" + (url.map { " (\($0))" } ?? "")
    }

    /// The transport-level kind the retry policy understands.
    public var transportKind: TransportError.Kind {
        switch CURLcode(rawValue: code) {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_PROXY:
            .connect
        case CURLE_OPERATION_TIMEDOUT:
            .timeout
        case CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2, CURLE_HTTP2_STREAM,
             CURLE_BAD_CONTENT_ENCODING:
            .connectionLost
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_USE_SSL_FAILED,
             CURLE_SSL_SHUTDOWN_FAILED:
            .tls
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            .refused
        default:
            .other
        }
    }

    /// This error as the transport port reports it.
    public var transportError: TransportError {
        TransportError(kind: transportKind, message: description)
    }
}
