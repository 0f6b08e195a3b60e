import Foundation
import Testing
@testable import SwitchyardCore

@Suite struct CircuitBreakerTests {
    @Test func opensAfterThresholdAndProbesAfterCooldown() {
        var breaker = CircuitBreaker(threshold: 3, cooldown: 10)
        for _ in 0..<2 { breaker.recordFailure(now: 0) }
        let acquired1 = breaker.tryAcquire(now: 0)
        #expect(acquired1)
        breaker.recordFailure(now: 1)
        #expect(breaker.state == .open(until: 11))
        let acquired2 = breaker.tryAcquire(now: 5)
        #expect(!acquired2)
        #expect(!breaker.isAvailable(now: 10.9))
        let acquired3 = breaker.tryAcquire(now: 11)
        #expect(acquired3)
        let acquired4 = breaker.tryAcquire(now: 11)
        #expect(!acquired4, "only one probe in half-open state")
        breaker.recordSuccess()
        #expect(breaker.state == .closed(consecutiveFailures: 0))
    }

    @Test func failedProbeReopens() {
        var breaker = CircuitBreaker(threshold: 1, cooldown: 5)
        breaker.recordFailure(now: 0)
        let acquired5 = breaker.tryAcquire(now: 6)
        #expect(acquired5)
        breaker.recordFailure(now: 6)
        #expect(breaker.state == .open(until: 11))
    }

    @Test func successResetsConsecutiveCount() {
        var breaker = CircuitBreaker(threshold: 2, cooldown: 5)
        breaker.recordFailure(now: 0)
        breaker.recordSuccess()
        breaker.recordFailure(now: 0)
        #expect(breaker.state == .closed(consecutiveFailures: 1))
    }

    @Test func neutralOutcomeReleasesProbe() {
        var breaker = CircuitBreaker(threshold: 1, cooldown: 1)
        breaker.recordFailure(now: 0)
        let acquired6 = breaker.tryAcquire(now: 2)
        #expect(acquired6)
        breaker.recordNeutral()
        let acquired7 = breaker.tryAcquire(now: 2)
        #expect(acquired7)
    }
}

@Suite struct BackoffTests {
    @Test func growsExponentiallyWithinJitterBoundsAndCaps() {
        for retry in 0..<6 {
            let step = min(2.0, 0.1 * pow(2, Double(retry)))
            #expect(Backoff.delay(retry: retry, initial: 0.1, maximum: 2, random: 0) == step / 2)
            #expect(Backoff.delay(retry: retry, initial: 0.1, maximum: 2, random: 1) == step)
        }
        #expect(Backoff.delay(retry: 100, initial: 0.1, maximum: 2, random: 0.5) <= 2)
    }

    @Test func readsRetryAfterForms() {
        #expect(Backoff.retryAfter(seconds: "3") == 3)
        #expect(Backoff.retryAfter(seconds: "3", milliseconds: "1500") == 1.5)
        #expect(Backoff.retryAfter(seconds: nil) == nil)
        #expect(Backoff.retryAfter(seconds: "soon") == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let date = "Tue, 14 Nov 2023 22:13:30 GMT"
        #expect(Backoff.retryAfter(seconds: date, now: now) == 10)
    }
}

@Suite struct FailureSummaryTests {
    @Test func rateLimitPassesThroughWithRetryAfter() {
        let error = GatewayError.upstreamsFailed([
            FailedAttempt(model: "m", deployment: "d1", failure: .status(code: 429, message: "slow down", retryAfter: 2.2))
        ])
        #expect(error.status == 429)
        #expect(error.headers.first?.0 == "retry-after" && error.headers.first?.1 == "3")
    }

    @Test func timeoutsGive504AndNameDeployments() {
        let error = GatewayError.upstreamsFailed([
            FailedAttempt(model: "m", deployment: "east", failure: .timeout(phase: .firstByte)),
            FailedAttempt(model: "m", deployment: "west", failure: .circuitOpen),
        ])
        #expect(error.status == 504)
        #expect(error.message.contains("east: first byte timeout"))
        #expect(error.message.contains("west: circuit open"))
    }

    @Test func missingKeyGives503NamingVariable() {
        let error = GatewayError.upstreamsFailed([FailedAttempt(model: "frontier", deployment: "frontier", failure: .missingCredential(variable: "ANTHROPIC_API_KEY"))])
        #expect(error.status == 503)
        #expect(error.code == "model_not_enabled")
        #expect(error.message.contains("ANTHROPIC_API_KEY"))
    }

    @Test func mixedFailuresGive502() {
        let error = GatewayError.upstreamsFailed([
            FailedAttempt(model: "a", deployment: "a", failure: .status(code: 500, message: "boom", retryAfter: nil)),
            FailedAttempt(model: "b", deployment: "b", failure: .connect("refused")),
        ])
        #expect(error.status == 502)
        #expect(error.message.contains("a: HTTP 500: boom"))
    }

    @Test func classification() {
        #expect(AttemptFailure.status(code: 503, message: nil, retryAfter: nil).isRetryable)
        #expect(!AttemptFailure.status(code: 400, message: nil, retryAfter: nil).isRetryable)
        #expect(AttemptFailure.status(code: 400, message: nil, retryAfter: nil).isClientError)
        #expect(AttemptFailure.connect("x").isRetryable)
        #expect(!AttemptFailure.timeout(phase: .firstByte).isRetryable)
        #expect(!AttemptFailure.status(code: 429, message: nil, retryAfter: nil).countsAsDeploymentFailure)
    }
}

@Suite struct PromptCalibrationTests {
    @Test func offsetFromOneObservationSlopeFromSeveral() {
        var c = PromptCalibration()
        #expect(c.apply(10) == 10)
        // A chat template adds 22 tokens the estimate cannot see.
        c.observe(estimate: 10, actual: 32)
        #expect(c.apply(10) == 32)
        #expect(c.apply(20) == 42)
        // A tokenizer at half the estimate's tokens per byte, plus the template.
        var d = PromptCalibration()
        for x in [10, 50, 100, 400] { d.observe(estimate: x, actual: x / 2 + 20) }
        #expect(d.apply(200) == 120)
        #expect(d.observations == 4)
        // Absurd fits are clamped to a sane slope.
        var e = PromptCalibration()
        e.observe(estimate: 10, actual: 1000)
        e.observe(estimate: 20, actual: 5000)
        #expect(e.apply(30) <= 5000 + 2 * 10 + 1)
    }
}
