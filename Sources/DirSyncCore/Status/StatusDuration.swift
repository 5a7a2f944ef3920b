import Foundation

/// Durations typed by operators: `90s`, `45m`, `6h`, `2d`, or combinations like `1h30m`.
public enum StatusDuration {
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var input: String
        public var description: String { "'\(input)' is not a duration: use a number with s, m, h or d, like 90m, 6h or 1d12h" }
    }

    /// Parses a duration into seconds.
    public static func parse(_ input: String) throws(Invalid) -> TimeInterval {
        let text = input.trimmingCharacters(in: .whitespaces).lowercased()
        var total: TimeInterval = 0
        var digits = ""
        var sawUnit = false
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            guard let value = Double(digits), !digits.isEmpty else { throw Invalid(input: input) }
            switch character {
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86_400
            default: throw Invalid(input: input)
            }
            digits = ""
            sawUnit = true
        }
        guard digits.isEmpty, sawUnit, total > 0 else { throw Invalid(input: input) }
        return total
    }

    /// A short human form: `45s`, `12m`, `3h`, `2d`.
    public static func short(_ seconds: TimeInterval) -> String {
        let s = max(0, seconds)
        if s < 1 { return String(format: "%.1fs", s) }
        if s < 60 { return "\(Int(s))s" }
        if s < 3600 { return "\(Int(s / 60))m" }
        if s < 86_400 { return "\(Int(s / 3600))h" }
        return "\(Int(s / 86_400))d"
    }
}
