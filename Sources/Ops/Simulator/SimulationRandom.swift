import Foundation

/// A seeded generator (SplitMix64): the same seed gives the same numbers on every machine and
/// every run, which `SystemRandomNumberGenerator` does not.
public struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }

    /// A whole number of milliseconds in `range` (minutes given as Double).
    mutating func minutes(_ range: ClosedRange<Double>) -> Int64 { Int64(Double.random(in: range, using: &self) * 60_000) }

    /// An exponentially distributed wait with this mean (ms): the gaps of a Poisson arrival stream.
    mutating func exponential(mean: Double) -> Int64 {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
        return Int64(-mean * log(u))
    }
}
