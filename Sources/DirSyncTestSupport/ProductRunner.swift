import Foundation

/// Runs one of the package's built executables (`dirsync`, `graph-sim`) as a child process, the way
/// an operator would, and captures what it printed.
package struct ProductRunner: Sendable {
    /// What a finished process left behind.
    package struct Outcome: Sendable {
        package var exitCode: Int32
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

    /// Runs `product` with `arguments` and waits for it.
    /// - Parameters:
    ///   - environment: variables added to (or, with `nil` values, removed from) the test's environment.
    ///   - timeout: the process is killed after this long and the test fails.
    ///   - killAfter: sends SIGKILL after this long (crash tests); the outcome then has exit code 9 + 128 semantics
    ///     as reported by Foundation (`terminationStatus` 9 with reason uncaught signal).
    package static func run(
        _ product: String, _ arguments: [String], environment: [String: String?] = [:], timeout: Duration = .seconds(120),
        killAfter: Duration? = nil
    ) async throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path(of: product))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
        async let stdout = readAll(out.fileHandleForReading)
        async let stderr = readAll(err.fileHandleForReading)
        let deadline = ContinuousClock.now + timeout
        let killAt = killAfter.map { ContinuousClock.now + $0 }
        while process.isRunning {
            if let killAt, ContinuousClock.now >= killAt {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                break
            }
            if ContinuousClock.now > deadline {
                process.terminate()
                throw TimedOut(product: product, arguments: arguments)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return Outcome(exitCode: process.terminationStatus, stdout: await stdout, stderr: await stderr)
    }

    package struct TimedOut: Error, CustomStringConvertible {
        package var product: String
        package var arguments: [String]
        package var description: String { "\(product) \(arguments.joined(separator: " ")) did not finish in time" }
    }

    private static func readAll(_ handle: FileHandle) async -> String {
        await withCheckedContinuation { continuation in
            Thread {
                let data = handle.readDataToEndOfFile()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }.start()
        }
    }
}
