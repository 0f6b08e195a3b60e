import Foundation
import SwitchyardCore

/// Spend, savings and traffic mix over a time window, as `switchyard report` and
/// `GET /admin/report` give it.
public struct UsageReport: Sendable, Equatable {
    public struct Tier: Sendable, Equatable {
        public var openness: String
        public var hosting: String
        public var requests: Int
        public var tokens: Int
        public var cost: Double
    }

    public struct ModelLine: Sendable, Equatable {
        public var model: String
        public var requests: Int
        public var tokens: Int
        public var cost: Double
    }

    public struct KeyLine: Sendable, Equatable {
        public var keyID: String
        public var name: String?
        public var requests: Int
        public var cost: Double
    }

    public var since: Date
    public var until: Date
    public var requests = 0
    public var errors = 0
    public var cost = 0.0
    public var counterfactualCost = 0.0
    public var promptTokens = 0
    public var completionTokens = 0
    public var tiers: [Tier] = []
    public var models: [ModelLine] = []
    public var topKeys: [KeyLine] = []

    public init(since: Date, until: Date) {
        self.since = since
        self.until = until
    }

    public var savings: Double { counterfactualCost - cost }
    public var errorRate: Double { requests == 0 ? 0 : Double(errors) / Double(requests) }

    public func json() -> JSONValue {
        let iso = ISO8601DateFormatter()
        let totalTokens = max(promptTokens + completionTokens, 0)
        var o = JSONObject()
        o["since"] = .string(iso.string(from: since))
        o["until"] = .string(iso.string(from: until))
        o["requests"] = .int(requests)
        o["errors"] = .int(errors)
        o["error_rate"] = .double(errorRate)
        o["cost_usd"] = .double(cost)
        o["counterfactual_cost_usd"] = .double(counterfactualCost)
        o["savings_usd"] = .double(savings)
        o["prompt_tokens"] = .int(promptTokens)
        o["completion_tokens"] = .int(completionTokens)
        o["tiers"] = .array(
            tiers.map { t in
                [
                    "openness": .string(t.openness), "hosting": .string(t.hosting), "requests": .int(t.requests),
                    "share_requests": .double(requests == 0 ? 0 : Double(t.requests) / Double(requests)),
                    "tokens": .int(t.tokens), "share_tokens": .double(totalTokens == 0 ? 0 : Double(t.tokens) / Double(totalTokens)),
                    "cost_usd": .double(t.cost),
                ]
            })
        o["models"] = .array(
            models.map { m in ["model": .string(m.model), "requests": .int(m.requests), "tokens": .int(m.tokens), "cost_usd": .double(m.cost)] })
        o["top_keys"] = .array(
            topKeys.map { k in
                ["key_id": .string(k.keyID), "name": k.name.map { .string($0) } ?? .null, "requests": .int(k.requests), "cost_usd": .double(k.cost)]
            })
        return .object(o)
    }

    /// A plain-text summary for terminals.
    public func text() -> String {
        func usd(_ v: Double) -> String { String(format: "$%.6f", v) }
        func pct(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
        let iso = ISO8601DateFormatter()
        var lines: [String] = []
        lines.append("Switchyard report \(iso.string(from: since)) .. \(iso.string(from: until))")
        lines.append("requests \(requests), errors \(errors) (\(pct(errorRate)))")
        lines.append("spend \(usd(cost)), all-frontier would have cost \(usd(counterfactualCost)), saved \(usd(savings))")
        lines.append("tokens: prompt \(promptTokens), completion \(completionTokens)")
        let totalTokens = promptTokens + completionTokens
        if !tiers.isEmpty {
            lines.append("")
            lines.append("tier                 requests   share    tokens   share        cost")
            for t in tiers {
                let name = "\(t.openness)/\(t.hosting)".padding(toLength: 18, withPad: " ", startingAt: 0)
                let share = requests == 0 ? 0 : Double(t.requests) / Double(requests)
                let tokenShare = totalTokens == 0 ? 0 : Double(t.tokens) / Double(totalTokens)
                lines.append(
                    "\(name) \(pad(String(t.requests), 10)) \(pad(pct(share), 7)) \(pad(String(t.tokens), 9)) \(pad(pct(tokenShare), 7)) \(pad(usd(t.cost), 11))"
                )
            }
        }
        if !models.isEmpty {
            lines.append("")
            lines.append("model                requests    tokens        cost")
            for m in models {
                lines.append("\(m.model.padding(toLength: 18, withPad: " ", startingAt: 0)) \(pad(String(m.requests), 10)) \(pad(String(m.tokens), 9)) \(pad(usd(m.cost), 11))")
            }
        }
        if !topKeys.isEmpty {
            lines.append("")
            lines.append("top keys             requests        cost")
            for k in topKeys {
                let label = (k.name.map { "\($0) (\(k.keyID))" } ?? k.keyID).padding(toLength: 34, withPad: " ", startingAt: 0)
                lines.append("\(label) \(pad(String(k.requests), 10)) \(pad(usd(k.cost), 11))")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}
