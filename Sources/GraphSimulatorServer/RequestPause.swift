import Dispatch
import Foundation
import GraphSimulator
import Synchronization

/// Holds Graph requests on their way to the simulator, so a test can act at an exact point of a
/// client's round (kill the client while it waits for a page, read its progress) instead of at a
/// moment in time. Served on loopback under `/_graphsim/pause`:
///
/// - `POST /_graphsim/pause` with `{"pathPrefix"?: "/v1.0/users/delta", "after": N}`: the next `N`
///   requests whose path starts with the prefix (default `/v1.0/`) are answered, every later one is
///   held unanswered. Replaces an earlier pause and lets the requests it held go on.
/// - `GET /_graphsim/pause/wait?timeout=S`: answers as soon as a request is held (at once if one is),
///   or after `S` seconds (default 60) with `"held": 0`.
/// - `GET /_graphsim/pause`: the state; `DELETE /_graphsim/pause`: ends the pause and lets every held
///   request go on (to a client that is still there).
///
/// Each answer is `{"paused": bool, "pathPrefix", "after", "passed", "held"}`: `passed` counts the
/// matching requests answered since the pause was set, `held` those waiting.
final class RequestPause: Sendable {
    private struct Rule {
        var pathPrefix: String
        var after: Int
    }

    private struct State {
        var rule: Rule?
        var passed = 0
        var held: [CheckedContinuation<Void, Never>] = []
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        /// Changes whenever the pause is set or ended.
        var generation = 0
    }

    private let state = Mutex(State())

    /// Lets `request` through at once, or holds it while the pause says so.
    /// - Returns: whether the request was held.
    func admit(_ request: SimRequest) async -> Bool {
        guard !request.path.hasPrefix("/_graphsim") else { return false }
        let generation = state.withLock { state -> Int? in
            guard let rule = state.rule, request.path.hasPrefix(rule.pathPrefix) else { return nil }
            if state.passed < rule.after {
                state.passed += 1
                return nil
            }
            return state.generation
        }
        guard let generation else { return false }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
                // The pause was ended or replaced in between: the request goes on.
                guard state.generation == generation else { return nil }
                state.held.append(continuation)
                defer { state.waiters = [:] }
                return Array(state.waiters.values)
            }
            guard let waiters else {
                continuation.resume()
                return
            }
            for waiter in waiters { waiter.resume() }
        }
        return true
    }

    /// Answers a control request under `/_graphsim/pause`, or `nil` for any other path.
    func control(_ request: SimRequest) async -> SimResponse? {
        guard request.path == "/_graphsim/pause" || request.path.hasPrefix("/_graphsim/pause/") else { return nil }
        switch (request.method, request.path) {
        case ("POST", "/_graphsim/pause"):
            let body: JSONValue
            do { body = request.body.isEmpty ? .object([:]) : try JSONValue.parse(request.body) } catch {
                return Self.error(400, error.message)
            }
            guard let after = body["after"]?.intValue, after >= 0 else { return Self.error(400, "pause needs \"after\": the number of requests to answer first (0 or more)") }
            let rule = Rule(pathPrefix: body["pathPrefix"]?.stringValue ?? "/v1.0/", after: after)
            let released = state.withLock { state in
                defer { (state.rule, state.passed, state.held, state.generation) = (rule, 0, [], state.generation + 1) }
                return state.held
            }
            for request in released { request.resume() }
        case ("DELETE", "/_graphsim/pause"):
            end()
        case ("GET", "/_graphsim/pause"):
            break
        case ("GET", "/_graphsim/pause/wait"):
            let seconds = request.queryValue("timeout").flatMap(Double.init) ?? 60
            await waitUntilHeld(seconds: max(0, min(seconds, 3600)))
        default:
            return Self.error(404, "no control endpoint \(request.method) \(request.path)")
        }
        return SimResponse(status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: summary())
    }

    /// Ends the pause and lets every held request go on.
    func end() {
        let released = state.withLock { state in
            defer { (state.rule, state.passed, state.held, state.generation) = (nil, 0, [], state.generation + 1) }
            return state.held
        }
        for request in released { request.resume() }
    }

    /// Returns once a request is held, or after `seconds`.
    private func waitUntilHeld(seconds: Double) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let id = state.withLock { state -> Int? in
                if !state.held.isEmpty { return nil }
                defer { state.nextWaiter += 1 }
                state.waiters[state.nextWaiter] = continuation
                return state.nextWaiter
            }
            guard let id else {
                continuation.resume()
                return
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            }
        }
    }

    private func summary() -> [UInt8] {
        let (rule, passed, held) = state.withLock { ($0.rule, $0.passed, $0.held.count) }
        var json = "{\"paused\":\(rule != nil),\"passed\":\(passed),\"held\":\(held)"
        if let rule { json += ",\"pathPrefix\":\"\(Self.escaped(rule.pathPrefix))\",\"after\":\(rule.after)" }
        return Array((json + "}").utf8)
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    private static func error(_ status: Int, _ message: String) -> SimResponse {
        SimResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")],
                    body: Array("{\"error\":\"\(escaped(message))\"}".utf8))
    }
}
