import Foundation

/// Placeholder ↔ original value table for one request.
///
/// Holds the original values, so it deliberately prints only the placeholders.
public struct RedactionMapping: Sendable, Hashable, CustomStringConvertible {
    /// Placeholder (e.g. `[EMAIL_1]`) → original value.
    public private(set) var originals: [String: String] = [:]
    /// Placeholders in the order they were issued.
    public private(set) var placeholders: [String] = []

    public init() {}

    mutating func add(placeholder: String, original: String) {
        originals[placeholder] = original
        placeholders.append(placeholder)
    }

    public var isEmpty: Bool { placeholders.isEmpty }
    public var description: String { "RedactionMapping(\(placeholders.joined(separator: ", ")))" }

    /// Puts original values back into a complete text.
    public func restore(_ text: String) -> String {
        var r = StreamingRestorer(mapping: self)
        return r.feed(text) + r.finish()
    }
}

/// Result of redacting a request's texts.
public struct RedactionResult: Sendable {
    /// The texts with every detection replaced, in input order.
    public var texts: [String]
    public var mapping: RedactionMapping
    /// Detections per kind that were replaced.
    public var counts: [SensitiveKind: Int]
}

/// Replaces each detected item with a stable placeholder such as `[EMAIL_1]` or `[CREDIT_CARD_2]`.
///
/// The same value gets the same placeholder in every text of the request, so the model can
/// still reason about "the same card" across messages, and ``StreamingRestorer`` can put the
/// values back into the answer. Placeholder numbers that already occur literally in the
/// input are skipped, so restoring never rewrites text the user wrote.
public struct Redactor: Sendable {
    public let scanner: SensitiveDataScanner

    public init(scanner: SensitiveDataScanner) {
        self.scanner = scanner
    }

    /// Scans and redacts.
    public func redact(_ texts: [String]) -> RedactionResult {
        Self.redact(texts, detections: scanner.scan(texts))
    }

    /// Redacts with detections already computed (`detections[i]` belongs to `texts[i]`, as
    /// returned by ``SensitiveDataScanner/scan(_:)``).
    public static func redact(_ texts: [String], detections: [[Detection]]) -> RedactionResult {
        var mapping = RedactionMapping()
        var byValue: [String: String] = [:]
        // Per kind (index = position in `SensitiveKind.allCases`): last number issued, items masked.
        var next = [Int](repeating: 0, count: SensitiveKind.allCases.count)
        var tally = [Int](repeating: 0, count: SensitiveKind.allCases.count)
        var out: [String] = []
        out.reserveCapacity(texts.count)
        let stems = Self.stems
        let literal = detections.contains(where: { !$0.isEmpty }) ? placeholderLiterals(in: texts) : []
        for (idx, text) in texts.enumerated() {
            // Sorted and merged, so overlapping input can never leave part of an item unmasked.
            let ds = idx < detections.count ? SensitiveDataScanner.resolve(detections[idx]) : []
            if ds.isEmpty {
                out.append(text)
                continue
            }
            var source = text
            let result: [UInt8] = source.withUTF8 { bytes in
                var result: [UInt8] = []
                result.reserveCapacity(bytes.count + 16 * ds.count)
                var pos = 0
                for d in ds {
                    let r = d.utf8Range.clamped(to: 0..<bytes.count)
                    guard r.lowerBound >= pos, !r.isEmpty else { continue }
                    result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pos..<r.lowerBound]))
                    let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[r]), as: UTF8.self)
                    let ph: String
                    if let existing = byValue[value] {
                        ph = existing
                    } else {
                        let kind = SensitiveDataScanner.kindIndex(d.kind)
                        var n = next[kind]
                        var candidate: String
                        repeat {
                            n += 1
                            candidate = "[" + stems[kind] + "_" + String(n) + "]"
                        } while !literal.isEmpty && literal.contains(candidate)
                        next[kind] = n
                        ph = candidate
                        byValue[value] = ph
                        mapping.add(placeholder: ph, original: value)
                    }
                    tally[SensitiveDataScanner.kindIndex(d.kind)] += 1
                    result.append(contentsOf: ph.utf8)
                    pos = r.upperBound
                }
                result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pos...]))
                return result
            }
            out.append(String(decoding: result, as: UTF8.self))
        }
        var counts: [SensitiveKind: Int] = [:]
        let present = tally.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        if present > 0 {
            counts = Dictionary(minimumCapacity: present)
            for (k, kind) in SensitiveKind.allCases.enumerated() where tally[k] > 0 { counts[kind] = tally[k] }
        }
        return RedactionResult(texts: out, mapping: mapping, counts: counts)
    }

    /// `placeholderStem` of each kind, indexed like `SensitiveKind.allCases`.
    private static let stems: [String] = SensitiveKind.allCases.map(\.placeholderStem)

    /// Every `[UPPER_SNAKE_123]` already present in the input.
    static func placeholderLiterals(in texts: [String]) -> Set<String> {
        var found: Set<String> = []
        for t in texts {
            var s = t
            s.withUTF8 { buf in
                guard let base = buf.baseAddress else { return }
                var i = 0
                while i < buf.count {
                    // Jump to the next `[` (memchr is vectorised).
                    guard let hit = memchr(base + i, Int32(UInt8(ascii: "[")), buf.count - i) else { return }
                    i = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - base
                    var j = i + 1
                    while j < buf.count && j - i < 64 && (ByteClass.isUpper(buf[j]) || buf[j] == UInt8(ascii: "_") || ByteClass.isDigit(buf[j])) {
                        j += 1
                    }
                    if j < buf.count && buf[j] == UInt8(ascii: "]") && j > i + 1 {
                        found.insert(String(decoding: UnsafeBufferPointer(rebasing: buf[i...j]), as: UTF8.self))
                    }
                    i = j
                }
            }
        }
        return found
    }
}
