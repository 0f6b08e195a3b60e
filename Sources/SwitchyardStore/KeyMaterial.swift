import Crypto
import Foundation

/// Virtual API keys: `sk-sy-<id>-<secret>`.
///
/// The id (12 hex digits) finds the row; the secret (40 base-62 characters, about 238 bits)
/// is checked against its stored SHA-256 with a comparison whose time does not depend on
/// where the bytes differ. The key text itself is printed once and never stored.
public enum KeyMaterial {
    public static let prefix = "sk-sy-"

    public struct Parts: Sendable, Equatable {
        public var id: String
        public var secret: String
    }

    public static func generate() -> (parts: Parts, key: String) {
        var rng = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef")
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        let id = String((0..<12).map { _ in hex[Int(rng.next(upperBound: UInt32(hex.count)))] })
        let secret = String((0..<40).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] })
        return (Parts(id: id, secret: secret), prefix + id + "-" + secret)
    }

    /// Splits a presented key; nil when it is not shaped like a virtual key.
    public static func parse(_ key: String) -> Parts? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.utf8.dropFirst(prefix.utf8.count)
        guard rest.count == 12 + 1 + 40, let dash = rest.firstIndex(of: UInt8(ascii: "-")),
            rest.distance(from: rest.startIndex, to: dash) == 12
        else { return nil }
        let id = String(decoding: rest[rest.startIndex..<dash], as: UTF8.self)
        let secret = String(decoding: rest[rest.index(after: dash)...], as: UTF8.self)
        guard id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
            secret.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) })
        else { return nil }
        return Parts(id: id, secret: secret)
    }

    public static func hash(secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
    }

    /// Whether `secret` hashes to `storedHash`, in time that depends only on the lengths.
    public static func verify(secret: String, storedHash: String) -> Bool {
        let a = Array(hash(secret: secret).utf8)
        let b = Array(storedHash.utf8)
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
