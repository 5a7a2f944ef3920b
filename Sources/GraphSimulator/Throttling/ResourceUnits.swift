import Foundation

/// The resource-unit (RU) cost of a Graph request, as Graph documents it for the identity and access service; every
/// response carries it in `x-ms-resource-unit`.
///
/// Base costs: `GET users` 2, `GET groups/{id}/members` 3, `GET groups/{id}/transitiveMembers` 5,
/// `POST directoryObjects/getByIds` and `POST getObjectsById` 5, `GET applications` 2, `GET subscribedSkus` 3, any other
/// request 1. Then `$select` takes 1 off, `$expand` adds 1, `$top` below 20 takes 1 off, and no request costs less than 1;
/// `getByIds` and `getObjectsById` with `$select` cost 2.
///
/// graph-sim's choice: Graph's table does not list delta queries, so `users/delta`, `groups/delta` and `contacts/delta`
/// cost what any other request costs, 1. `groups` and `contacts` lists are not in the table either, so they cost 1
/// (`$select` cannot take them below that).
public enum ResourceUnits {
    /// The cost of `request`.
    public static func cost(of request: SimRequest) -> Int {
        var segments = request.path.split(separator: "/").map(String.init)
        if let first = segments.first, first == "v1.0" || first == "beta" { segments.removeFirst() }
        let method = request.method
        let selected = request.option("$select") != nil
        if method == "POST", isGetByIds(segments) { return selected ? 2 : 5 }
        var cost = baseCost(method: method, segments: segments)
        if selected { cost -= 1 }
        if request.option("$expand") != nil { cost += 1 }
        if let top = request.option("$top").flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), top < 20 { cost -= 1 }
        return max(1, cost)
    }

    /// Whether a path (without the version) is `directoryObjects/getByIds` or `getObjectsById`.
    static func isGetByIds(_ segments: [String]) -> Bool {
        (segments.count == 2 && segments[0].lowercased() == "directoryobjects"
            && ["getbyids", "microsoft.graph.getbyids"].contains(segments[1].lowercased()))
            || (segments.count == 1 && segments[0].lowercased() == "getobjectsbyid")
    }

    private static func baseCost(method: String, segments: [String]) -> Int {
        guard method == "GET" else { return 1 }
        let lower = segments.map { $0.lowercased() }
        switch lower.count {
        case 1:
            switch lower[0] {
            case "users", "applications": return 2
            case "subscribedskus": return 3
            default: return 1
            }
        case 3 where lower[0] == "groups":
            switch lower[2] {
            case "members": return 3
            case "transitivemembers": return 5
            default: return 1
            }
        default:
            return 1
        }
    }
}
