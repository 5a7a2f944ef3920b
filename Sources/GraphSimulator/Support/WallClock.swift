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

/// Formats seconds since 1970 as ISO 8601 in UTC, `yyyy-MM-ddTHH:mm:ssZ`, the shape of Graph's `createdDateTime`.
///
/// Pure arithmetic (no calendar objects), since generated objects derive their timestamps on every read.
func isoTimestamp(_ seconds: Double) -> String {
    let total = Int(seconds.rounded(.down))
    let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
    let secondOfDay = total - days * 86_400
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
    return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
}
