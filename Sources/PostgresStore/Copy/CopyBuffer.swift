import Foundation

/// Rows for `COPY … FROM STDIN` in PostgreSQL's text format, written straight into bytes.
///
/// Formatting strings is the bottleneck of bulk loads on Linux (see the platform notes), so each
/// value is escaped byte by byte into one growing buffer: `\` → `\\`, tab → `\t`, newline → `\n`,
/// carriage return → `\r`, SQL NULL → `\N`. Any UTF-8 text passes through unchanged otherwise.
///
/// ```swift
/// var copy = CopyBuffer()
/// copy.append(uuid); copy.append("Zoë\tTab"); copy.appendNull(); copy.endRow()
/// ```
public struct CopyBuffer: Sendable {
    /// The encoded rows.
    public private(set) var bytes: [UInt8] = []
    /// Rows completed with ``endRow()``.
    public private(set) var rowCount = 0
    private var columnInRow = 0

    public init(reservingCapacity capacity: Int = 64 * 1024) {
        bytes.reserveCapacity(capacity)
    }

    /// Whether no row has been written.
    public var isEmpty: Bool { rowCount == 0 && columnInRow == 0 }

    private mutating func separator() {
        if columnInRow > 0 { bytes.append(0x09) }
        columnInRow += 1
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(0x0A)
        rowCount += 1
        columnInRow = 0
    }

    /// Appends SQL NULL.
    public mutating func appendNull() {
        separator()
        bytes.append(0x5C); bytes.append(0x4E)  // \N
    }

    /// Appends text, escaped for COPY; `nil` is NULL.
    public mutating func append(_ text: String?) {
        guard let text else { return appendNull() }
        separator()
        var utf8Text = text
        utf8Text.withUTF8 { appendEscaped($0) }
    }

    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        for byte in utf8 {
            switch byte {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            default: bytes.append(byte)
            }
        }
    }

    /// Appends a boolean (`t`/`f`); `nil` is NULL.
    public mutating func append(_ value: Bool?) {
        guard let value else { return appendNull() }
        separator()
        bytes.append(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// Appends an integer; `nil` is NULL.
    public mutating func append(_ value: Int?) {
        guard let value else { return appendNull() }
        separator()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Appends a UUID in its canonical lower-case form.
    public mutating func append(_ value: UUID) {
        separator()
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        withUnsafeBytes(of: value.uuid) { raw in
            for (index, byte) in raw.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { bytes.append(UInt8(ascii: "-")) }
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    /// Appends an optional UUID; `nil` is NULL.
    public mutating func append(_ value: UUID?) {
        guard let value else { return appendNull() }
        append(value)
    }

    /// Appends a `text[]` value: each element quoted for the array literal, then escaped for COPY.
    public mutating func append(_ values: [String]?) {
        guard let values else { return appendNull() }
        separator()
        bytes.append(UInt8(ascii: "{"))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            var value = value
            value.withUTF8 { utf8 in
                for byte in utf8 {
                    switch byte {
                    // Inside a quoted array element `"` and `\` need a backslash, and every backslash
                    // then needs doubling for COPY: `"` → `\\"`, `\` → `\\\\`.
                    case UInt8(ascii: "\""): bytes.append(0x5C); bytes.append(0x5C); bytes.append(byte)
                    case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C, 0x5C, 0x5C])
                    case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
                    case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
                    case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
                    default: bytes.append(byte)
                    }
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Appends a timestamp; `nil` is NULL.
    public mutating func append(_ value: Date?) {
        guard let value else { return appendNull() }
        separator()
        bytes.append(contentsOf: PostgresTimestamp.format(value).utf8)
    }

}
