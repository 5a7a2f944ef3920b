/// Appends compact JSON to a byte buffer, keeping keys in the order written.
///
/// Graph pages are written with this instead of `JSONEncoder`: key order matters for readable output,
/// and pages of 200 objects must be cheap to produce.
public struct JSONWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []
    /// Per open container: whether it already holds a member.
    private var hasMember: [Bool] = [false]
    /// Set after a key: the next value belongs to it and takes no separator.
    private var afterKey = false

    /// Creates an empty writer.
    public init() { bytes.reserveCapacity(4096) }

    private mutating func prefix(_ key: String?) {
        if afterKey {
            afterKey = false
        } else {
            if hasMember[hasMember.count - 1] { bytes.append(UInt8(ascii: ",")) }
            hasMember[hasMember.count - 1] = true
        }
        if let key {
            appendQuoted(key)
            bytes.append(UInt8(ascii: ":"))
        }
    }

    /// Writes `key` alone; the next call writes its value.
    public mutating func key(_ key: String) {
        prefix(key)
        afterKey = true
    }

    /// Opens an object (as a value, or as the value of `key`).
    public mutating func beginObject(_ key: String? = nil) {
        prefix(key)
        bytes.append(UInt8(ascii: "{"))
        hasMember.append(false)
    }

    /// Closes the innermost object.
    public mutating func endObject() {
        hasMember.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// Opens an array (as a value, or as the value of `key`).
    public mutating func beginArray(_ key: String? = nil) {
        prefix(key)
        bytes.append(UInt8(ascii: "["))
        hasMember.append(false)
    }

    /// Closes the innermost array.
    public mutating func endArray() {
        hasMember.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes a string member or array element.
    public mutating func string(_ value: String, key: String? = nil) {
        prefix(key)
        appendQuoted(value)
    }

    /// Writes a string or `null`.
    public mutating func stringOrNull(_ value: String?, key: String? = nil) {
        if let value { string(value, key: key) } else { null(key: key) }
    }

    /// Writes a boolean.
    public mutating func bool(_ value: Bool, key: String? = nil) {
        prefix(key)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    /// Writes an integer.
    public mutating func int(_ value: Int, key: String? = nil) {
        prefix(key)
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// Writes a floating-point number.
    public mutating func double(_ value: Double, key: String? = nil) {
        prefix(key)
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// Writes `null`.
    public mutating func null(key: String? = nil) {
        prefix(key)
        bytes.append(contentsOf: Array("null".utf8))
    }

    /// Writes already-encoded JSON as a value.
    public mutating func raw(_ json: [UInt8], key: String? = nil) {
        prefix(key)
        bytes.append(contentsOf: json)
    }

    /// Writes an array of strings.
    public mutating func strings(_ values: [String], key: String? = nil) {
        beginArray(key)
        for value in values { string(value) }
        endArray()
    }

    private mutating func appendQuoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
            case 0x0A: bytes.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
