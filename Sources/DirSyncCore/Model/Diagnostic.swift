/// Something odd but recoverable found while reading Graph data: an object skipped, a member type
/// not stored. Diagnostics are reported with the run; they never abort it.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    /// A short, stable identifier for the kind of problem, e.g. `invalid-id`.
    public var code: String
    /// A plain-language sentence naming what was skipped and why. Never contains secrets.
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
