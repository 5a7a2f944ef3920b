import Foundation

/// A small deterministic random number generator (SplitMix64), so seeded property tests, kill points
/// and fault schedules repeat exactly from run to run. Print the seed with every failure.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    package private(set) var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound`.
    package mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// True with the given percent chance.
    package mutating func chance(_ percent: Int) -> Bool { int(100) < percent }

    /// One of `values`.
    package mutating func pick<T>(_ values: [T]) -> T { values[int(values.count)] }

    /// A version-4 UUID from the generator's bits.
    package mutating func nextUUID() -> UUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<2 {
            let word = next()
            for j in 0..<8 { bytes[i * 8 + j] = UInt8(truncatingIfNeeded: word >> UInt64(j * 8)) }
        }
        bytes[6] = bytes[6] & 0x0f | 0x40
        bytes[8] = bytes[8] & 0x3f | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
