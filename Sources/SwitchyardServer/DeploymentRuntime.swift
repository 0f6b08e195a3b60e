import NIOCore
import Synchronization
import SwitchyardCore

/// Live state of one deployment: requests in flight (for least-outstanding balancing)
/// and its circuit breaker.
final class DeploymentRuntime: Sendable {
    let config: DeploymentConfig
    let outstanding = Atomic<Int>(0)
    private let breaker: Mutex<CircuitBreaker>

    init(config: DeploymentConfig, reliability: ReliabilitySettings) {
        self.config = config
        self.breaker = Mutex(CircuitBreaker(threshold: reliability.breakerFailureThreshold, cooldown: reliability.breakerCooldown))
    }

    static func now() -> Double { Double(NIODeadline.now().uptimeNanoseconds) / 1e9 }

    var isAvailable: Bool { breaker.withLock { $0.isAvailable(now: Self.now()) } }
    var breakerState: CircuitBreaker.State { breaker.withLock { $0.state } }

    func tryAcquire() -> Bool { breaker.withLock { $0.tryAcquire(now: Self.now()) } }
    func recordSuccess() { breaker.withLock { $0.recordSuccess() } }
    func recordFailure() { breaker.withLock { $0.recordFailure(now: Self.now()) } }
    func recordNeutral() { breaker.withLock { $0.recordNeutral() } }
}

/// A configured model with its deployments' live state.
final class ModelRuntime: Sendable {
    let config: ModelConfig
    let deployments: [DeploymentRuntime]
    private let rotation = Atomic<Int>(0)

    init(config: ModelConfig, reliability: ReliabilitySettings) {
        self.config = config
        self.deployments = config.deployments.map { DeploymentRuntime(config: $0, reliability: reliability) }
    }

    /// Deployments in the order to try them: healthy before tripped, fewest requests in
    /// flight first, ties broken by rotation so equal deployments share the load.
    func orderedDeployments() -> [DeploymentRuntime] {
        if deployments.count == 1 { return deployments }
        let start = rotation.add(1, ordering: .relaxed).newValue
        let n = deployments.count
        let rotated = (0..<n).map { deployments[($0 + start) % n] }
        let keyed = rotated.enumerated().map { (offset, d) in (d, d.isAvailable ? 0 : 1, d.outstanding.load(ordering: .relaxed), offset) }
        return keyed.sorted { a, b in (a.1, a.2, a.3) < (b.1, b.2, b.3) }.map(\.0)
    }
}
