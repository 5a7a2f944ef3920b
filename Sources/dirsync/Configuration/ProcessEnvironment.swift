import Foundation

/// The process environment, read once when a command starts: the only place dirsync reads it.
/// Everything below the command line gets typed values from ``Configuration``.
struct ProcessEnvironment: Sendable {
    /// The variables as given.
    let variables: [String: String]

    init(_ variables: [String: String]) {
        self.variables = variables
    }

    /// The running process's environment.
    static func current() -> ProcessEnvironment {
        ProcessEnvironment(ProcessInfo.processInfo.environment)
    }

    /// The value of `key` with surrounding white space removed; `nil` when unset or blank.
    func value(_ key: String) -> String? {
        guard let raw = variables[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else { return nil }
        return raw
    }

    /// The value of `key` exactly as set (secrets are not trimmed); `nil` when unset or empty.
    func raw(_ key: String) -> String? {
        guard let raw = variables[key], !raw.isEmpty else { return nil }
        return raw
    }
}
