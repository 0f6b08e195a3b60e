import Foundation

/// How sensitive a request's content is; decides where it may be processed.
///
/// * `public` — anything may see it.
/// * `internal` — fine for contracted cloud providers, not for public sharing. Default for
///   contact data and network addresses found in prompts.
/// * `confidential` — must stay on infrastructure we run (`hosting == .local`) unless it is
///   masked first. Default for secrets, payment data, national ids and private keys.
///
/// Classes combine by maximum: the stricter of the caller's header, the profile default and
/// every detection wins.
public enum DataClass: Int, Comparable, Codable, Sendable, CaseIterable, CustomStringConvertible {
    case `public` = 0
    case `internal` = 1
    case confidential = 2

    public static func < (a: DataClass, b: DataClass) -> Bool { a.rawValue < b.rawValue }

    public var name: String {
        switch self {
        case .public: return "public"
        case .internal: return "internal"
        case .confidential: return "confidential"
        }
    }

    public var description: String { name }

    /// Parses a header or config value: `public`, `internal`, `confidential` (case-insensitive),
    /// also `0`/`1`/`2`; `nil` for anything else.
    public init?(name: String) {
        switch name.trimmingCharacters(in: .whitespaces).lowercased() {
        case "public", "0": self = .public
        case "internal", "1": self = .internal
        case "confidential", "2": self = .confidential
        default: return nil
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self), let v = DataClass(rawValue: i) {
            self = v
            return
        }
        let s = try c.decode(String.self)
        guard let v = DataClass(name: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown data class '\(s)'")
        }
        self = v
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}

/// Which data class each kind of detection implies. Configurable because organisations
/// disagree (e.g. some treat any e-mail address as confidential).
public struct DataClassMapping: Codable, Sendable, Hashable {
    /// Class per kind; kinds not listed count as `confidential` (fail closed).
    public var byKind: [SensitiveKind: DataClass]
    /// Overrides by rule name (custom rules, or built-in rules such as `ipv4`).
    public var byRule: [String: DataClass]

    public init(byKind: [SensitiveKind: DataClass] = DataClassMapping.defaultByKind, byRule: [String: DataClass] = [:]) {
        self.byKind = byKind
        self.byRule = byRule
    }

    /// Contact data (e-mail, phone) and IP addresses → `internal`; everything else → `confidential`.
    public static let defaultByKind: [SensitiveKind: DataClass] = [
        .email: .internal, .phone: .internal, .ipAddress: .internal,
        .creditCard: .confidential, .iban: .confidential, .ssn: .confidential, .privateKey: .confidential,
        .apiKey: .confidential, .jwt: .confidential, .secret: .confidential, .custom: .confidential,
    ]

    public static let `default` = DataClassMapping()
    /// Every detection is confidential.
    public static let strict = DataClassMapping(byKind: Dictionary(uniqueKeysWithValues: SensitiveKind.allCases.map { ($0, .confidential) }))

    public func dataClass(of d: Detection) -> DataClass {
        byRule[d.rule] ?? byKind[d.kind] ?? .confidential
    }

    private enum CodingKeys: String, CodingKey { case byKind = "by_kind", byRule = "by_rule" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var kinds = DataClassMapping.defaultByKind
        for (k, v) in try c.decodeIfPresent([String: DataClass].self, forKey: .byKind) ?? [:] {
            guard let kind = SensitiveKind(rawValue: k) else {
                throw DecodingError.dataCorruptedError(forKey: .byKind, in: c, debugDescription: "unknown kind '\(k)'")
            }
            kinds[kind] = v
        }
        byKind = kinds
        byRule = try c.decodeIfPresent([String: DataClass].self, forKey: .byRule) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Dictionary(uniqueKeysWithValues: byKind.map { ($0.key.rawValue, $0.value) }), forKey: .byKind)
        try c.encode(byRule, forKey: .byRule)
    }
}
