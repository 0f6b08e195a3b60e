/// Why one candidate was kept or dropped — the audit trail of the MAY step.
public struct CandidateVerdict: Sendable, Hashable {
    public var name: String
    public var kept: Bool
    /// `ok`, `ok+redact`, or the first failed constraint: `profile:model_not_allowed`,
    /// `profile:tier_not_allowed`, `profile:hosting_not_allowed`, `budget:price`,
    /// `class:confidential->local_only`, `needs:tools`, `needs:json_schema`, `needs:images`,
    /// `needs:context`, `unhealthy`.
    public var reason: String
    /// True when this model may only receive the redacted texts.
    public var redacted: Bool

    public init(name: String, kept: Bool, reason: String, redacted: Bool = false) {
        self.name = name
        self.kept = kept
        self.reason = reason
        self.redacted = redacted
    }
}

/// Masked texts for cloud targets, and the table to restore the answer.
///
/// The mapping holds original values: keep it in memory for the request's lifetime only
/// and never log it (its `description` shows placeholders only).
public struct RedactionPlan: Sendable {
    /// Models (in chosen+fallbacks) that must receive ``texts`` instead of the originals.
    public var models: [String]
    /// The request's texts with every detection masked, same order and paths as the input.
    public var texts: [PolicyText]
    public var mapping: RedactionMapping
    /// Masked items per kind.
    public var counts: [SensitiveKind: Int]
}

/// The policy's answer for a routable request.
public struct PolicyDecision: Sendable {
    public var profile: String
    /// Route the request named, if any.
    public var route: String?
    /// Model to call first.
    public var model: String
    /// Models to try next, in order; every one of them passed every hard constraint.
    public var fallbacks: [String]
    public var strategy: RouteStrategy
    /// Every candidate considered, with why it was kept or dropped.
    public var candidates: [CandidateVerdict]
    /// Detected kinds with counts (never values).
    public var detections: [SensitiveKind: Int]
    /// Effective class: max of profile default, header and detections.
    public var dataClass: DataClass
    /// Quality score, when the strategy used one.
    public var score: QualityScore?
    public var threshold: Double?
    /// Non-nil when some targets need masked texts.
    public var redaction: RedactionPlan?
    /// For `cascade`: models to escalate through, weakest first (starts with ``model``).
    public var cascade: [String]?
    /// Route rule that chose the model, if any.
    public var rule: String?
    /// Short machine-readable reason, e.g. `pii:credit_card→local router:0.71>=0.42→llama-70b`.
    public var reason: String
    /// ``reason`` restricted to printable ASCII (`->` for `→`), safe for an HTTP header.
    public var headerReason: String { PolicyReason.ascii(reason) }

    /// Chosen model followed by fallbacks.
    public var targets: [String] { [model] + fallbacks }

    /// Cascade hook: the next model to escalate to when the gateway judges the answer of
    /// `model` insufficient (e.g. low confidence, failed JSON validation); `nil` at the top.
    public func escalation(after model: String) -> String? {
        guard let ladder = cascade, let i = ladder.firstIndex(of: model), i + 1 < ladder.count else { return nil }
        return ladder[i + 1]
    }

    /// Whether `model` must receive the masked texts.
    public func requiresRedaction(for model: String) -> Bool {
        redaction?.models.contains(model) ?? false
    }

    /// The texts to send to `model`: masked if required, else the originals passed in.
    public func texts(for model: String, original: [PolicyText]) -> [PolicyText] {
        if let r = redaction, r.models.contains(model) { return r.texts }
        return original
    }
}

/// The policy's answer when the request must not be served.
///
/// `403` — the policy forbids what was asked (e.g. a cloud model explicitly requested for
/// confidential data); `503` — nothing allowed and healthy is left; `400` — the requested
/// model cannot do what the request needs; `404` — unknown model or route.
public struct PolicyRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    /// Stable error code: `policy_forbids_model`, `no_eligible_model`, `model_unavailable`,
    /// `model_lacks_capability`, `unknown_model`.
    public var code: String
    /// Human-readable explanation (no sensitive values).
    public var message: String
    /// Machine-readable reason, same vocabulary as ``PolicyDecision/reason``.
    public var reason: String
    public var detections: [SensitiveKind: Int]
    public var dataClass: DataClass
    public var candidates: [CandidateVerdict]

    public var headerReason: String { PolicyReason.ascii(reason) }
    public var description: String { "\(status) \(code): \(message) [\(reason)]" }
}

enum PolicyReason {
    /// `→` becomes `->`; anything else outside printable ASCII becomes `?`.
    static func ascii(_ s: String) -> String {
        // Most reasons are printable ASCII already: returned as they are, without a copy.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            if u == "→" {
                out += [0x2D, 0x3E]  // "->"
            } else if u.value >= 0x20 && u.value < 0x7F {
                out.append(UInt8(u.value))
            } else {
                out.append(0x3F)  // "?"
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
