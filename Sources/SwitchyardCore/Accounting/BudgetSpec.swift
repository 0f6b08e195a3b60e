import Foundation

/// A spending limit in USD and the period it renews over: `50/month`, `10/day`, `5/week`,
/// or `100` for a limit that never renews.
public struct BudgetSpec: Sendable, Equatable, CustomStringConvertible {
    public enum Period: String, Sendable, CaseIterable {
        case total, day, week, month
    }

    public var amount: Double
    public var period: Period

    public init(amount: Double, period: Period) {
        self.amount = amount
        self.period = period
    }

    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 1 || parts.count == 2 else { return nil }
        var amountText = parts[0]
        if amountText.hasPrefix("$") { amountText.removeFirst() }
        guard let amount = Double(amountText), amount.isFinite, amount >= 0 else { return nil }
        let period: Period
        if parts.count == 2 {
            guard let p = Period(rawValue: parts[1].lowercased()), p != .total else { return nil }
            period = p
        } else {
            period = .total
        }
        self.init(amount: amount, period: period)
    }

    public var description: String {
        let amountText = amount == amount.rounded() ? String(Int(amount)) : String(amount)
        return period == .total ? amountText : "\(amountText)/\(period.rawValue)"
    }

    /// The key of the period containing `date` (UTC): `total`, `2026-11-29`, `2026-W48`, `2026-11`.
    public func periodKey(at date: Date) -> String {
        Self.periodKey(period, at: date)
    }

    public static func periodKey(_ period: Period, at date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        switch period {
        case .total:
            return "total"
        case .day:
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        case .week:
            var iso = Calendar(identifier: .iso8601)
            iso.timeZone = calendar.timeZone
            let c = iso.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
            return String(format: "%04d-W%02d", c.yearForWeekOfYear!, c.weekOfYear!)
        case .month:
            let c = calendar.dateComponents([.year, .month], from: date)
            return String(format: "%04d-%02d", c.year!, c.month!)
        }
    }
}
