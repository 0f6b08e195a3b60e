/// One failed attempt, attributed to the deployment that failed.
public struct FailedAttempt: Sendable, Equatable {
    public var model: String
    public var deployment: String
    public var failure: AttemptFailure

    public init(model: String, deployment: String, failure: AttemptFailure) {
        self.model = model
        self.deployment = deployment
        self.failure = failure
    }
}

extension GatewayError {
    /// The error a client gets when every candidate failed: the status says what kind of
    /// failure it was (429 passed through, 504 for timeouts, 503 when nothing could even
    /// be tried, 502 otherwise) and the message names each deployment and why it failed.
    public static func upstreamsFailed(_ attempts: [FailedAttempt]) -> GatewayError {
        let detail = attempts.map { "\($0.deployment): \($0.failure.summary)" }.joined(separator: "; ")
        guard let last = attempts.last else {
            return GatewayError(status: 503, type: "service_unavailable", code: "no_deployment", message: "No deployment is available.")
        }
        if case .status(429, let message, let retryAfter) = last.failure {
            var headers: [(String, String)] = []
            if let retryAfter { headers.append(("retry-after", String(Int(retryAfter.rounded(.up))))) }
            return GatewayError(
                status: 429, type: "rate_limit_error", code: "rate_limit_exceeded",
                message: "Upstream rate limit reached (\(last.deployment)): \(message ?? "too many requests"). Attempts: \(detail)",
                headers: headers
            )
        }
        let nothingTried = attempts.allSatisfy {
            switch $0.failure {
            case .missingCredential, .circuitOpen: return true
            default: return false
            }
        }
        if nothingTried {
            if attempts.allSatisfy({ if case .missingCredential = $0.failure { return true } else { return false } }) {
                return GatewayError(
                    status: 503, type: "service_unavailable", code: "model_not_enabled",
                    message: "Model '\(attempts[0].model)' is not enabled on this gateway: \(detail)."
                )
            }
            return GatewayError(status: 503, type: "service_unavailable", code: "no_healthy_deployment", message: "No healthy deployment: \(detail).")
        }
        let tried = attempts.filter {
            switch $0.failure {
            case .missingCredential, .circuitOpen: return false
            default: return true
            }
        }
        if tried.allSatisfy({ if case .timeout = $0.failure { return true } else { return false } }) {
            return GatewayError(status: 504, type: "timeout", code: "upstream_timeout", message: "Upstream timed out: \(detail).")
        }
        return GatewayError(status: 502, type: "upstream_error", code: "upstream_failed", message: "All upstream attempts failed: \(detail).")
    }
}
