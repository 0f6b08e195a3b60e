import Foundation

/// An organisation-specific detector from configuration: a regular expression and/or a list
/// of keywords (project code names, customer ids, internal host names…).
///
/// Custom rules are opt-in, so they may use `NSRegularExpression`; the built-in detectors
/// stay hand-written for speed.
public struct CustomRule: Codable, Sendable, Hashable {
    /// Rule name, reported in detections and usable in ``DataClassMapping/byRule``.
    public var name: String
    /// `NSRegularExpression` pattern; every match is a detection.
    public var pattern: String?
    /// Literal keywords matched case-insensitively on word boundaries.
    public var keywords: [String]
    /// Kind reported for matches (default `.custom`).
    public var kind: SensitiveKind
    /// Data class of a match; `nil` uses the mapping for `kind`.
    public var dataClass: DataClass?

    public init(
        name: String, pattern: String? = nil, keywords: [String] = [], kind: SensitiveKind = .custom,
        dataClass: DataClass? = nil
    ) {
        self.name = name
        self.pattern = pattern
        self.keywords = keywords
        self.kind = kind
        self.dataClass = dataClass
    }

    private enum CodingKeys: String, CodingKey { case name, pattern, keywords, kind, dataClass = "data_class" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        pattern = try c.decodeIfPresent(String.self, forKey: .pattern)
        keywords = try c.decodeIfPresent([String].self, forKey: .keywords) ?? []
        kind = try c.decodeIfPresent(SensitiveKind.self, forKey: .kind) ?? .custom
        dataClass = try c.decodeIfPresent(DataClass.self, forKey: .dataClass)
    }
}

/// A custom rule whose pattern failed to compile.
public struct CustomRuleError: Error, Sendable, CustomStringConvertible {
    public var rule: String
    public var message: String
    public var description: String { "custom rule '\(rule)': \(message)" }
}

/// Compiled form of a ``CustomRule``. `NSRegularExpression` is immutable and documented as
/// thread-safe once built, hence the unchecked conformance.
final class CompiledCustomRule: @unchecked Sendable {
    let rule: CustomRule
    let regex: NSRegularExpression?
    let keywords: [[UInt8]]

    init(_ rule: CustomRule) throws {
        self.rule = rule
        if let p = rule.pattern {
            do {
                regex = try NSRegularExpression(pattern: p, options: [])
            } catch {
                throw CustomRuleError(rule: rule.name, message: "invalid pattern: \(error)")
            }
        } else {
            regex = nil
        }
        keywords = rule.keywords.filter { !$0.isEmpty }.map { Array($0.lowercased().utf8) }
    }

    func scan(_ text: String, _ b: Bytes, into out: inout [Detection]) {
        for kw in keywords {
            let first = kw[0]
            var i = 0
            let last = b.count - kw.count
            while i <= last {
                if ByteClass.lower(b[i]) == first && b.matchesIgnoringCase(kw, at: i)
                    && (!ByteClass.isWord(kw[0]) || b.isWordStart(i))
                    && (!ByteClass.isWord(kw[kw.count - 1]) || b.isWordEnd(i + kw.count))
                {
                    out.append(Detection(kind: rule.kind, rule: rule.name, utf8Range: i..<(i + kw.count)))
                    i += kw.count
                } else {
                    i += 1
                }
            }
        }
        guard let regex else { return }
        let ns = NSRange(text.startIndex..<text.endIndex, in: text)
        for m in regex.matches(in: text, options: [], range: ns) where m.range.length > 0 {
            guard let r = Range(m.range, in: text) else { continue }
            let lo = text.utf8.distance(from: text.startIndex, to: r.lowerBound)
            let hi = lo + text.utf8.distance(from: r.lowerBound, to: r.upperBound)
            out.append(Detection(kind: rule.kind, rule: rule.name, utf8Range: lo..<hi))
        }
    }
}
