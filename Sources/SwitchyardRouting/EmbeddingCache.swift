import Foundation
import SwitchyardEmbeddings

/// A text embedder that remembers vectors by prompt (64-bit FNV-1a of the UTF-8 text) and can persist
/// them, so repeated `train`/`eval`/`crossval` runs over the same data embed each prompt once.
///
/// File format (little-endian): magic `SYEC`, UInt32 version (1), UInt32 dimension, UInt32 count,
/// then `count` records of UInt64 key + `dimension` Float32.
public final class CachingEmbedder: TextEmbedder, @unchecked Sendable {
    public let base: (any TextEmbedder)?
    public let dimension: Int
    private var table: [UInt64: [Float]] = [:]
    private let lock = NSLock()
    public private(set) var misses = 0

    /// - Parameter base: computes vectors for prompts not in the cache (nil = cache only).
    public init(base: (any TextEmbedder)?, dimension: Int? = nil) {
        self.base = base
        self.dimension = dimension ?? base?.dimension ?? 384
    }

    public static func key(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    public var count: Int { lock.withLock { table.count } }

    public func insert(_ vector: [Float], for text: String) {
        lock.withLock { table[Self.key(text)] = vector }
    }

    public func embed(_ text: String) throws -> [Float] {
        try embed(batch: [text])[0]
    }

    public func embed(batch texts: [String]) throws -> [[Float]] {
        var out = [[Float]?](repeating: nil, count: texts.count)
        var missing: [Int] = []
        lock.withLock {
            for (i, t) in texts.enumerated() {
                if let v = table[Self.key(t)] { out[i] = v } else { missing.append(i) }
            }
        }
        if !missing.isEmpty {
            guard let base else { throw RoutingError.invalidData("\(missing.count) prompt(s) missing from the embedding cache and no encoder") }
            let computed = try base.embed(batch: missing.map { texts[$0] })
            lock.withLock {
                misses += missing.count
                for (j, i) in missing.enumerated() { out[i] = computed[j]; table[Self.key(texts[i])] = computed[j] }
            }
        }
        return out.map { $0! }
    }

    public func load(from url: URL) throws {
        let data = try Data(contentsOf: url)
        func u32(_ o: Int) -> UInt32 { data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt32.self)) } }
        guard data.count >= 16, data.prefix(4) == Data("SYEC".utf8), u32(4) == 1 else {
            throw RoutingError.invalidData("\(url.path) is not an embedding cache")
        }
        let dim = Int(u32(8)), n = Int(u32(12))
        guard dim == dimension else { throw RoutingError.invalidData("cache dimension \(dim) ≠ \(dimension)") }
        let rec = 8 + dim * 4
        guard data.count == 16 + n * rec else { throw RoutingError.invalidData("truncated embedding cache") }
        data.withUnsafeBytes { buf in
            lock.withLock {
                for r in 0..<n {
                    let o = 16 + r * rec
                    let key = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: o, as: UInt64.self))
                    table[key] = (0..<dim).map {
                        Float(bitPattern: UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: o + 8 + $0 * 4, as: UInt32.self)))
                    }
                }
            }
        }
    }

    public func save(to url: URL) throws {
        var data = Data("SYEC".utf8)
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        let snapshot = lock.withLock { table }.filter { $0.value.count == dimension }
        put32(1); put32(UInt32(dimension)); put32(UInt32(snapshot.count))
        for (k, v) in snapshot.sorted(by: { $0.key < $1.key }) {
            withUnsafeBytes(of: k.littleEndian) { data.append(contentsOf: $0) }
            for f in v { put32(f.bitPattern) }
        }
        try data.write(to: url, options: .atomic)
    }
}
