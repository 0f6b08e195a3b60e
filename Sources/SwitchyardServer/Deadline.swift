import SwitchyardCore

/// Runs `operation` but gives up after `seconds`, throwing a timeout for `phase`.
///
/// Used for the limits the HTTP client cannot express per phase: time to the first body
/// byte, and silence between stream chunks when that limit is shorter than the others.
func withTimeout<T: Sendable>(
    _ seconds: Double, phase: AttemptFailure.TimeoutPhase, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw AttemptFailureError(.timeout(phase: phase)) }
        guard let value = first else { throw AttemptFailureError(.timeout(phase: phase)) }
        return value
    }
}
