import Foundation

/// A directory extension property registered on an app and available on users.
///
/// Graph names it `extension_<app id without dashes>_<name>`. Graph documents that delta returns, for a change
/// to one directory extension property, every directory extension property of the same data type; the
/// simulator models that by marking all of them changed. So a change to an extension the client did not select
/// still surfaces the user if it selected another extension of that type (graph-sim's reading of that sentence).
public struct DirectoryExtension: Sendable, Equatable {
    /// The data types graph-sim supports (Graph also has Binary, DateTime and LargeInteger).
    public enum DataType: String, Sendable, CaseIterable {
        /// `String`.
        case string = "String"
        /// `Integer`.
        case integer = "Integer"
        /// `Boolean`.
        case boolean = "Boolean"

        /// The property type values of this data type have.
        var propertyType: PropertyType {
            switch self {
            case .string: return .string
            case .integer: return .int
            case .boolean: return .bool
            }
        }
    }

    /// The full property name, `extension_<app id without dashes>_<name>`.
    public var name: String
    /// The data type.
    public var dataType: DataType

    /// Creates a definition from the full name.
    public init(name: String, dataType: DataType) {
        self.name = name
        self.dataType = dataType
    }

    /// Creates the definition of `shortName` registered on the app `clientId`.
    public init(app clientId: String, shortName: String, dataType: DataType) {
        self.init(name: "extension_" + clientId.replacingOccurrences(of: "-", with: "").lowercased() + "_" + shortName, dataType: dataType)
    }

    /// The most extension properties one tenant can have in graph-sim (graph-sim's limit: Graph allows 100 per
    /// app); each takes one bit of a change mask.
    public static let maximum = 32

    /// The name of the cost-centre extension every generated tenant registers on its first app.
    public static let costCenter = "costCenter"
}
