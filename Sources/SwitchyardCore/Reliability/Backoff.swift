import Foundation

/// Retry timing: exponential backoff with jitter, and the upstream's own `Retry-After`.
public enum Backoff {
    /// Delay before retry number `retry` (0-based): half of the exponential step plus a
    /// random share of the other half, so synchronized clients spread out but never retry
    /// immediately. `random` is in 0..<1, injected for tests.
    public static func delay(retry: Int, initial: Double, maximum: Double, random: Double) -> Double {
        let step = min(maximum, initial * pow(2, Double(min(retry, 30))))
        return step / 2 + step / 2 * min(max(random, 0), 1)
    }

    /// Seconds to wait from `retry-after-ms` (OpenAI), or `retry-after` as seconds or an
    /// HTTP-date (RFC 9110 §10.2.3). Nil when absent or unreadable.
    public static func retryAfter(seconds: String?, milliseconds: String? = nil, now: Date = Date()) -> Double? {
        if let ms = milliseconds.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), ms >= 0 { return ms / 1000 }
        guard let raw = seconds?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        if let s = Double(raw) { return s >= 0 ? s : nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: raw) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
