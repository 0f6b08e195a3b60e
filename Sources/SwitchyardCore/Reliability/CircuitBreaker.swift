/// A per-deployment circuit breaker: after `threshold` consecutive failures the
/// deployment is skipped for `cooldown` seconds, then one probe request is let through;
/// its success closes the circuit, its failure opens it again.
///
/// A plain value type driven by the caller's clock so the state machine is tested
/// without sleeping.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: Double)
        case halfOpen(probeInFlight: Bool)
    }

    public private(set) var state: State = .closed(consecutiveFailures: 0)
    public let threshold: Int
    public let cooldown: Double

    public init(threshold: Int, cooldown: Double) {
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
    }

    /// Whether a request may be sent now, without changing state (for ordering and readiness).
    public func isAvailable(now: Double) -> Bool {
        switch state {
        case .closed: return true
        case .open(let until): return now >= until
        case .halfOpen(let probe): return !probe
        }
    }

    /// Claims permission to send one request. In half-open state only one probe is let through.
    public mutating func tryAcquire(now: Double) -> Bool {
        switch state {
        case .closed: return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen(probeInFlight: true)
            return true
        case .halfOpen(let probe):
            if probe { return false }
            state = .halfOpen(probeInFlight: true)
            return true
        }
    }

    public mutating func recordSuccess() {
        state = .closed(consecutiveFailures: 0)
    }

    public mutating func recordFailure(now: Double) {
        switch state {
        case .closed(let failures):
            state = failures + 1 >= threshold ? .open(until: now + cooldown) : .closed(consecutiveFailures: failures + 1)
        case .halfOpen, .open:
            state = .open(until: now + cooldown)
        }
    }

    /// Releases a half-open probe whose outcome says nothing about the deployment
    /// (the client went away, or the request itself was invalid).
    public mutating func recordNeutral() {
        if case .halfOpen = state { state = .halfOpen(probeInFlight: false) }
    }
}
