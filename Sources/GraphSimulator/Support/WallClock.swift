import Foundation

/// Reads the wall clock (kept in one place so the rest of the core can take time as a parameter).
enum ContinuousClockReference {
    static func wallNow() -> Double { Date().timeIntervalSince1970 }
}

/// Formats seconds since 1970 as `yyyy-MM-ddTHH:mm:ss` (UTC), the shape of Graph's `innerError.date`.
func isoDate(_ seconds: Double) -> String {
    let date = Date(timeIntervalSince1970: seconds.rounded(.down))
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    func two(_ v: Int?) -> String { let v = v ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
    return "\(c.year ?? 1970)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))"
}
