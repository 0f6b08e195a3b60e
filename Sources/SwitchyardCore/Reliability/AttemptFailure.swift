/// Why one upstream attempt failed, and what the gateway should do about it.
public enum AttemptFailure: Error, Sendable, Equatable {
    case missingCredential(variable: String)
    case circuitOpen
    case connect(String)
    case timeout(phase: TimeoutPhase)
    case status(code: Int, message: String?, retryAfter: Double?)
    case badResponse(String)

    public enum TimeoutPhase: String, Sendable { case connect, firstByte = "first byte", idle, total }

    /// Worth another try on the same deployment after a backoff.
    public var isRetryable: Bool {
        switch self {
        case .connect: return true
        case .status(let code, _, _): return [429, 500, 502, 503, 504, 529].contains(code)
        default: return false
        }
    }

    /// The client's request itself is at fault: no other deployment would do better.
    public var isClientError: Bool {
        if case .status(let code, _, _) = self { return [400, 413, 422].contains(code) }
        return false
    }

    /// Counts against the deployment's health.
    public var countsAsDeploymentFailure: Bool {
        switch self {
        case .connect, .timeout, .badResponse: return true
        case .status(let code, _, _): return code >= 500 || code == 401 || code == 403 || code == 404
        case .missingCredential, .circuitOpen: return false
        }
    }

    public var summary: String {
        switch self {
        case .missingCredential(let v): return "not enabled: its API key comes from $\(v), which is not set"
        case .circuitOpen: return "circuit open after repeated failures"
        case .connect(let detail): return "connection failed (\(detail))"
        case .timeout(let phase): return "\(phase.rawValue) timeout"
        case .status(let code, let message, _): return "HTTP \(code)" + (message.map { ": \($0)" } ?? "")
        case .badResponse(let detail): return "unreadable answer (\(detail))"
        }
    }
}
