import Foundation

/// Helpers for the small JSON answers read with `JSONSerialization` (tokens, errors, domains,
/// discovery). Delta pages, the large ones, are read by ``DeltaPageDecoder``.
enum JSONValue {
    /// A JSON `true`/`false`, distinguished from the numbers `1`/`0` (which also bridge to `Bool`).
    static func bool(_ value: Any) -> Bool? {
        guard let number = value as? NSNumber else { return nil }
        // JSONSerialization creates booleans as NSNumber with ObjC type "c" (char); JSON numbers come
        // as "q"/"i"/"d" and must not be read as booleans.
        guard String(cString: number.objCType) == "c" else { return nil }
        return number.boolValue
    }

    /// A JSON integer (not a boolean, not fractional).
    static func int(_ value: Any?) -> Int? {
        guard let value, bool(value) == nil, let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9e15 else { return nil }
        return number.intValue
    }

    /// Parses bytes as a JSON object, or `nil`.
    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }
}
