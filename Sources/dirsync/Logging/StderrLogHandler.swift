import Foundation
import Logging
import Synchronization

/// Writes one line per log event to stderr, as JSON or as text; stdout stays for command output.
///
/// JSON lines carry `ts`, `level`, `msg` and the metadata keys (`tenant.id`, `domain`, …) as fields,
/// ready for log collectors. Text lines are for people at a terminal.
struct StderrLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    let format: LogFormat
    let label: String

    private static let bootstrapped = Mutex(false)
    private static let output = Mutex(FileHandle.standardError)

    /// Installs the handler for the whole process; later calls do nothing.
    static func bootstrapOnce(format: LogFormat, level: Logger.Level) {
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in StderrLogHandler(logLevel: level, format: format, label: label) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = format == .json
            ? Self.json(level: event.level, message: event.message.description, metadata: merged)
            : Self.text(level: event.level, message: event.message.description, metadata: merged)
        Self.output.withLock { $0.write(Data((line + "\n").utf8)) }
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon))
    }

    static func text(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = "\(timestamp()) \(level.rawValue.uppercased()) \(message)"
        for key in metadata.keys.sorted() {
            line += " \(key)=\(flatten(metadata[key]!))"
        }
        return line
    }

    static func json(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var object: [String: Any] = ["ts": timestamp(), "level": level.rawValue, "msg": message]
        for (key, value) in metadata { object[key] = flatten(value) }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{\"level\":\"\(level.rawValue)\",\"msg\":\"unencodable log line\"}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func flatten(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): "[" + values.map(flatten).joined(separator: ",") + "]"
        case .dictionary(let dictionary): "{" + dictionary.keys.sorted().map { "\($0)=\(flatten(dictionary[$0]!))" }.joined(separator: ",") + "}"
        }
    }
}
