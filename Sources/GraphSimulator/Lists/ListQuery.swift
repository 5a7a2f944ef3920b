import Foundation

/// A `startswith(property,'prefix')` filter on a plain list.
public struct PrefixFilter: Sendable, Equatable {
    /// Ordinal of the filtered property.
    public var ordinal: Int
    /// The prefix, lower-cased (the match ignores case).
    public var prefix: String
}

/// Why a list query cannot be served, with the status, code and message Graph answers.
public struct ListQueryProblem: Error, Sendable, Equatable {
    /// HTTP status.
    public var status: Int
    /// Graph error code.
    public var code: String
    /// Graph error message.
    public var message: String
}

/// Parsing of the query options of plain lists (`GET /users`, `/groups`, `/contacts`, a group's `/members`).
public enum ListQuery {
    /// The page size when `$top` is absent.
    public static let defaultTop = 100
    /// The largest `$top` Graph accepts on directory lists.
    public static let maxTop = 999

    /// `$top`: 100 when absent, 1...999 as Graph allows; outside that, Graph's 400 `Request_UnsupportedQuery`
    /// "Invalid page size specified: 'N'. Must be between 1 and 999 inclusive."
    public static func top(_ text: String?) -> Result<Int, ListQueryProblem> {
        guard let text else { return .success(defaultTop) }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), (1...maxTop).contains(value) else {
            return .failure(ListQueryProblem(status: 400, code: "Request_UnsupportedQuery",
                                             message: "Invalid page size specified: '\(text)'. Must be between 1 and 999 inclusive."))
        }
        return .success(value)
    }

    /// The resource name Graph quotes in filter errors.
    static func filterResourceName(_ resource: Resource) -> String {
        switch resource {
        case .users: return "User"
        case .groups: return "Group"
        case .contacts: return "OrgContact"
        }
    }

    /// Parses `$filter`. graph-sim serves one clause, `startswith(property,'prefix')` on a property of
    /// ``Tenant/startsWithOrdinals(_:)``, with the function and property names in any case and `'` inside the prefix
    /// written `''` (Graph's escaping of single quotes).
    ///
    /// Anything else is refused as Graph refuses a clause it cannot serve: 400 `Request_UnsupportedQuery` "Unsupported
    /// or invalid query filter clause specified for property '…' of resource '…'." `endsWith`, `ne` and `not` name the
    /// advanced query parameters, as Graph's answer without them does. graph-sim's choice: clauses Graph serves by
    /// default but graph-sim does not (`eq`, `in`, `ge`, `le`, lambdas, `and`/`or`) get the same unsupported-clause
    /// answer, and text that is not a clause at all gets 400 `Request_BadRequest` "Invalid filter clause".
    public static func filter(_ text: String, resource: Resource) -> Result<PrefixFilter, ListQueryProblem> {
        let chars = Array(text)
        var i = 0
        func skipSpaces() { while i < chars.count && chars[i].isWhitespace { i += 1 } }
        func identifier() -> String {
            let start = i
            while i < chars.count && (chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "/") { i += 1 }
            return String(chars[start..<i])
        }
        let invalid = ListQueryProblem(status: 400, code: "Request_BadRequest", message: "Invalid filter clause")
        func unsupported(_ property: String) -> ListQueryProblem {
            ListQueryProblem(status: 400, code: "Request_UnsupportedQuery",
                             message: "Unsupported or invalid query filter clause specified for property '\(property)' of resource '\(filterResourceName(resource))'.")
        }
        func advanced(_ operatorName: String) -> ListQueryProblem {
            ListQueryProblem(status: 400, code: "Request_UnsupportedQuery",
                             message: "Operator '\(operatorName)' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information")
        }

        skipSpaces()
        let first = identifier()
        guard !first.isEmpty else { return .failure(invalid) }
        skipSpaces()
        let lowerFirst = first.lowercased()
        if lowerFirst == "not" { return .failure(advanced("not")) }
        guard i < chars.count, chars[i] == "(" else {
            // `property op value`: name the property, or the operator when only advanced queries have it.
            let op = identifier().lowercased()
            if op == "ne" { return .failure(advanced("ne")) }
            return .failure(op.isEmpty ? invalid : unsupported(first))
        }
        i += 1
        skipSpaces()
        let property = identifier()
        guard !property.isEmpty else { return .failure(invalid) }
        if lowerFirst == "endswith" { return .failure(advanced("endsWith")) }
        guard lowerFirst == "startswith" else { return .failure(unsupported(property)) }
        skipSpaces()
        guard i < chars.count, chars[i] == "," else { return .failure(invalid) }
        i += 1
        skipSpaces()
        guard i < chars.count, chars[i] == "'" else { return .failure(unsupported(property)) }
        i += 1
        var prefix = ""
        var closed = false
        while i < chars.count {
            if chars[i] == "'" {
                if i + 1 < chars.count && chars[i + 1] == "'" {
                    prefix.append("'")
                    i += 2
                    continue
                }
                i += 1
                closed = true
                break
            }
            prefix.append(chars[i])
            i += 1
        }
        guard closed else { return .failure(invalid) }
        skipSpaces()
        guard i < chars.count, chars[i] == ")" else { return .failure(invalid) }
        i += 1
        skipSpaces()
        guard i == chars.count else { return .failure(unsupported(property)) }
        let lowerProperty = property.lowercased()
        guard let ordinal = Tenant.startsWithOrdinals(resource).first(where: { resource.properties[$0].lowercased() == lowerProperty }) else {
            return .failure(unsupported(property))
        }
        return .success(PrefixFilter(ordinal: ordinal, prefix: prefix.lowercased()))
    }

    /// Percent-encodes a query value for a link (RFC 3986: unreserved characters and a few sub-delimiters stay).
    static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "$"), UInt8(ascii: ","),
                 UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "'"), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}
