import Foundation

/// An onboarded domain as `directory.domains` stores it.
public struct DomainRecord: Sendable, Equatable, Codable {
    public var domain: String
    public var tenantID: UUID
    public var enabled: Bool
    public var onboardedAt: Date
    /// The app registration used for this domain's tenant; `nil` means the configured default.
    public var clientID: UUID?
    /// When the domain was last confirmed verified in its tenant; `nil` until the first check passes.
    public var verifiedAt: Date?
    /// Per-domain deletion guard limit.
    public var deletionLimit: Int?
    /// A plain-language problem specific to this domain.
    public var problem: String?

    public init(domain: String, tenantID: UUID, enabled: Bool = true, onboardedAt: Date = Date(), clientID: UUID? = nil,
                verifiedAt: Date? = nil, deletionLimit: Int? = nil, problem: String? = nil) {
        self.domain = domain
        self.tenantID = tenantID
        self.enabled = enabled
        self.onboardedAt = onboardedAt
        self.clientID = clientID
        self.verifiedAt = verifiedAt
        self.deletionLimit = deletionLimit
        self.problem = problem
    }
}

/// Validation of domain names typed by operators.
public enum DomainName {
    /// Why a domain name was refused.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var input: String
        public var reason: String
        public var description: String { "'\(input)' is not a valid domain name: \(reason)" }
    }

    /// Lower-cases and checks a DNS domain name (`contoso.com`, `xn--bcher-kva.example`).
    /// - Throws: ``Invalid`` naming what is wrong.
    public static func normalize(_ input: String) throws(Invalid) -> String {
        var name = input.trimmingCharacters(in: .whitespaces).lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        func invalid(_ reason: String) -> Invalid { Invalid(input: input, reason: reason) }
        guard !name.isEmpty else { throw invalid("it is empty") }
        guard name.unicodeScalars.allSatisfy(\.isASCII) else {
            throw invalid("use the ASCII (punycode, xn--…) form of internationalised names")
        }
        guard !name.contains("@"), !name.contains("/"), !name.contains(":") else {
            throw invalid("give the domain alone, without user, scheme, path or port")
        }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw invalid("only letters, digits, hyphens and dots are allowed")
        }
        guard name.count <= 253 else { throw invalid("it is longer than 253 characters") }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { throw invalid("it needs at least two labels, like contoso.com") }
        for label in labels {
            guard !label.isEmpty else { throw invalid("it has an empty label (two dots in a row)") }
            guard label.count <= 63 else { throw invalid("the label '\(label)' is longer than 63 characters") }
            guard label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw invalid("the label '\(label)' may only contain letters, digits and hyphens")
            }
            guard label.first != "-", label.last != "-" else { throw invalid("the label '\(label)' starts or ends with a hyphen") }
        }
        guard labels.last!.contains(where: \.isLetter) else { throw invalid("the top-level label must not be numeric") }
        return name
    }
}
