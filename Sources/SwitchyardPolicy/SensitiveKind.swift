/// The category of a sensitive item found in a prompt.
///
/// Categories, not values, are what the policy reasons about and what the gateway may log:
/// a decision reports "2 × credit_card", never the digits.
public enum SensitiveKind: String, Codable, Sendable, CaseIterable, Hashable {
    case email
    case phone
    case creditCard = "credit_card"
    case iban
    case ssn
    case ipAddress = "ip_address"
    case privateKey = "private_key"
    case apiKey = "api_key"
    case jwt
    case secret
    case custom

    /// Upper-case stem used for placeholders, e.g. `CREDIT_CARD` in `[CREDIT_CARD_1]`.
    public var placeholderStem: String { rawValue.uppercased() }
}

/// One sensitive item found in a text.
///
/// Only the location is stored, so a `Detection` can be logged or counted without leaking the value;
/// use ``value(in:)`` when the value itself is needed (redaction).
public struct Detection: Sendable, Hashable {
    /// What was found.
    public var kind: SensitiveKind
    /// Which rule found it, e.g. `luhn_card`, `github_token`, or a custom rule's name.
    public var rule: String
    /// Byte offsets into the text's UTF-8 view.
    public var utf8Range: Range<Int>

    public init(kind: SensitiveKind, rule: String, utf8Range: Range<Int>) {
        self.kind = kind
        self.rule = rule
        self.utf8Range = utf8Range
    }

    /// The matched range as `String.Index` values of `text` (the text that was scanned).
    public func range(in text: String) -> Range<String.Index> {
        let u = text.utf8
        let lo = u.index(u.startIndex, offsetBy: utf8Range.lowerBound)
        let hi = u.index(lo, offsetBy: utf8Range.count)
        return lo..<hi
    }

    /// The matched value (the text that was scanned must be passed in).
    public func value(in text: String) -> String {
        String(decoding: text.utf8[range(in: text)], as: UTF8.self)
    }
}
