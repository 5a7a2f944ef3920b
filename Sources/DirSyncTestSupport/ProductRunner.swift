import DirSyncTestDoubles
import Foundation

/// Runs one of the package's built executables (`dirsync`, `graph-sim`) as a child process, the way
/// an operator would, and captures what it printed.
package struct ProductRunner: Sendable {
    /// What a finished process left behind.
    package struct Outcome: Sendable {
        /// The exit code, or the number of the signal that ended the process (9 after SIGKILL).
        package var exitCode: Int32
        /// Whether a signal ended the process.
        package var signalled: Bool
        package var stdout: String
        package var stderr: String
        /// Non-empty stderr lines.
        package var stderrLines: [String] { stderr.split(whereSeparator: \.isNewline).map(String.init) }
    }

    package struct NotBuilt: Error, CustomStringConvertible {
        package var product: String
        package var description: String { "\(product) is not built next to the test bundle: run `swift build` first (scripts/test does)" }
    }

    /// The directory holding the built products (where the test bundle itself lives).
    package static var productsDirectory: URL {
        let bundle = Bundle.main.bundleURL
        return bundle.pathExtension == "xctest" ? bundle.deletingLastPathComponent() : bundle
    }

    /// The path of a built executable.
    package static func path(of product: String) throws -> String {
        let url = productsDirectory.appendingPathComponent(product)
        guard FileManager.default.isExecutableFile(atPath: url.path) else { throw NotBuilt(product: product) }
        return url.path
    }

    /// The test's environment with `changes` applied (a `nil` value removes the variable).
    package static func environment(_ changes: [String: String?]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in changes { environment[key] = value }
        return environment
    }

    /// Starts `product` with `arguments`; the caller waits for it with ``Running/finish(timeout:)``.
    /// - Parameter environment: variables added to (or, with `nil` values, removed from) the test's environment.
    package static func start(_ product: String, _ arguments: [String], environment: [String: String?] = [:]) throws -> Running {
        Running(try ChildProcess(try path(of: product), arguments, environment: Self.environment(environment)))
    }

    /// Runs `product` with `arguments` and waits for it to exit.
    /// - Parameters:
    ///   - environment: variables added to (or, with `nil` values, removed from) the test's environment.
    ///   - timeout: a guard against a hang: the process is killed after this long and the test fails.
    package static func run(
        _ product: String, _ arguments: [String], environment: [String: String?] = [:], timeout: Duration = .defaultEventTimeout
    ) async throws -> Outcome {
        try await start(product, arguments, environment: environment).finish(timeout: timeout)
    }

    /// A product that is running.
    package struct Running: Sendable {
        /// The process, for waiting on its output lines or signalling it.
        package let process: ChildProcess

        init(_ process: ChildProcess) { self.process = process }

        /// Waits until the process exits, and returns what it left behind.
        /// - Parameter timeout: a guard against a hang: the process is killed and this throws ``TimedOut``.
        package func finish(timeout: Duration = .defaultEventTimeout) async throws -> Outcome {
            let termination: ChildProcess.Termination
            do {
                termination = try await process.exit(timeout: timeout)
            } catch is EventTimeout {
                throw TimedOut(commandLine: process.commandLine, timeout: timeout)
            }
            return Outcome(exitCode: termination.status, signalled: termination.signalled,
                           stdout: process.standardOutput, stderr: process.standardError)
        }
    }

    package struct TimedOut: Error, CustomStringConvertible {
        package var commandLine: String
        package var timeout: Duration
        package var description: String { "\(commandLine) did not finish within \(timeout)" }
    }
}
