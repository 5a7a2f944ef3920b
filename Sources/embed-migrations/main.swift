import Foundation

// Build-time tool: turns migrations/NNNN_name.sql into Swift source embedding each file's text, so the
// dirsync binary can migrate a database with nothing beside it.
//
// Usage: embed-migrations OUTPUT.swift FILE.sql...
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: embed-migrations OUTPUT.swift FILE.sql...\n".utf8))
    exit(2)
}
let inputs = arguments.dropFirst().sorted { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }

/// Renders bytes as a Swift array literal; exact for any content (no escaping pitfalls).
func byteLiteral(_ data: Data) -> String {
    var out = "["
    out.reserveCapacity(data.count * 5 + 2)
    for (index, byte) in data.enumerated() {
        if index % 32 == 0 { out += "\n        " }
        out += "\(byte),"
    }
    return out + "\n    ]"
}

var source = """
// Generated at build time by embed-migrations from migrations/*.sql. Do not edit.

/// The migration files embedded at build time: (file name, UTF-8 bytes), sorted by name.
let embeddedMigrationFiles: [(name: String, bytes: [UInt8])] = [

"""
for path in inputs {
    let name = (path as NSString).lastPathComponent
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("embed-migrations: cannot read \(path)\n".utf8))
        exit(1)
    }
    source += "    (\"\(name)\", \(byteLiteral(data))),\n"
}
source += "]\n"
do {
    try source.write(toFile: output, atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("embed-migrations: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
