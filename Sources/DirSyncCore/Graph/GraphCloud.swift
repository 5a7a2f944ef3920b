import Foundation

/// A Microsoft cloud: where its identity platform and its Microsoft Graph live.
///
/// Clouds are separate worlds: an app registered in one cannot get tokens in another, and tokens
/// are not interchangeable between them (see the national cloud deployments page of the Graph docs).
public enum GraphCloud: String, Sendable, Equatable, CaseIterable {
    /// The global (public) cloud, which also serves US Government GCC (moderate).
    case global
    /// US Government L4 (GCC High).
    case usGovernment
    /// US Government L5 (DoD).
    case usGovernmentDoD
    /// China, operated by 21Vianet.
    case china

    /// Parses a cloud name as an operator writes it (`global`, `public`, `usgov`, `gcchigh`, `dod`, `china`…).
    /// - Returns: `nil` for a name that names no cloud.
    public init?(name: String) {
        switch name.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "") {
        case "global", "public", "azurecloud", "gcc": self = .global
        case "usgovernment", "usgov", "gcchigh", "l4", "azureusgovernment": self = .usGovernment
        case "usgovernmentdod", "dod", "l5": self = .usGovernmentDoD
        case "china", "azurechinacloud", "21vianet": self = .china
        default: return nil
        }
    }

    /// The identity platform's base URL (no trailing slash), e.g. `https://login.microsoftonline.com`.
    public var authorityHost: String {
        switch self {
        case .global: "https://login.microsoftonline.com"
        case .usGovernment, .usGovernmentDoD: "https://login.microsoftonline.us"
        case .china: "https://login.chinacloudapi.cn"
        }
    }

    /// Microsoft Graph's root URL (no trailing slash), e.g. `https://graph.microsoft.com`.
    public var graphBaseURL: String {
        switch self {
        case .global: "https://graph.microsoft.com"
        case .usGovernment: "https://graph.microsoft.us"
        case .usGovernmentDoD: "https://dod-graph.microsoft.us"
        case .china: "https://microsoftgraph.chinacloudapi.cn"
        }
    }

    /// The client-credentials scope for this cloud's Graph, `<graph root>/.default`.
    public var defaultScope: String { GraphEndpoints.defaultScope(graphBaseURL: graphBaseURL) }
}
