import Foundation

/// What a leaked access token or client assertion looks like in output: a JSON Web Token, the
/// base64url of a JSON object (`eyJ…`) and two more dot-separated segments. "eyJ" alone also turns
/// up by chance in random text, such as a consent link's `state`.
package enum TokenShape {
    package static func appears(in text: String) -> Bool {
        text.range(of: #"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"#, options: .regularExpression) != nil
    }
}
