import ArgumentParser
import Foundation
import SwitchyardEmbeddings
import SwitchyardRouting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Options shared by the routing commands for finding the prompt encoder.
struct RoutingEncoderOptions: ParsableArguments {
    @Option(name: .customLong("encoder"), help: ArgumentHelp(
        "Directory of the all-MiniLM-L6-v2 model (default: the installed model found by MiniLMEncoder.locateInstalledModel()).",
        valueName: "dir"))
    var encoderDirectory: String?

    @Option(name: .customLong("embedding-cache"), help: ArgumentHelp(
        "Read prompt embeddings from this file if it exists and write new ones back, so repeated runs embed each prompt once.",
        valueName: "file"))
    var embeddingCache: String?

    @Flag(name: .customLong("quiet"), help: "No progress bar on stderr.")
    var quiet = false

    /// A caching embedder over the MiniLM encoder. The encoder is loaded lazily, so a run whose
    /// prompts are all in the cache needs no model files.
    func makeEmbedder() throws -> CachingEmbedder {
        let cache = CachingEmbedder(base: LazyMiniLM(directory: encoderDirectory.map { URL(fileURLWithPath: $0) }), dimension: 384)
        if let path = embeddingCache, FileManager.default.fileExists(atPath: path) {
            try cache.load(from: URL(fileURLWithPath: path))
        }
        return cache
    }

    func saveCache(_ cache: CachingEmbedder) {
        guard let path = embeddingCache, cache.misses > 0 else { return }
        do { try cache.save(to: URL(fileURLWithPath: path)) } catch {
            FileHandle.standardError.write(Data("warning: could not write embedding cache \(path): \(error)\n".utf8))
        }
    }

    func progressBar(_ label: String) -> ProgressHandler? {
        quiet ? nil : StderrProgressBar(label: label).handler
    }
}

/// Loads the MiniLM encoder on first use.
final class LazyMiniLM: TextEmbedder, @unchecked Sendable {
    let directory: URL?
    let dimension = 384
    private var encoder: MiniLMEncoder?
    private let lock = NSLock()

    init(directory: URL?) { self.directory = directory }

    private func get() throws -> MiniLMEncoder {
        try lock.withLock {
            if let encoder { return encoder }
            guard let dir = directory ?? MiniLMEncoder.locateInstalledModel() else {
                throw ValidationError("No all-MiniLM-L6-v2 model found; pass --encoder DIR (or an --embedding-cache holding every prompt).")
            }
            let e = try MiniLMEncoder(modelDirectory: dir)
            encoder = e
            return e
        }
    }

    func embed(_ text: String) throws -> [Float] { try get().embed(text) }
    func embed(batch texts: [String]) throws -> [[Float]] { try get().embed(batch: texts) }
}

/// A throttled progress bar on stderr (a redrawn line on a terminal, a line per quarter otherwise).
final class StderrProgressBar: @unchecked Sendable {
    let label: String
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var lastQuarter = -1
    private let start = Date()
    private let tty = isatty(2) != 0

    init(label: String) { self.label = label }

    var handler: ProgressHandler { { [self] p in self.update(p) } }

    func update(_ p: RoutingProgress) {
        lock.withLock {
            let done = p.completed >= p.total
            if tty {
                guard done || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
                lastDraw = Date()
                let width = 30, filled = Int(p.fraction * Double(width))
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                let elapsed = Date().timeIntervalSince(start)
                let rate = elapsed > 0 ? Double(p.completed) / elapsed : 0
                var line = "\r\(label) \(p.phase) [\(bar)] \(p.completed)/\(p.total)"
                if p.phase == "embed" || p.phase == "score" { line += String(format: " %.0f/s", rate) }
                if let d = p.detail { line += " \(d)" }
                FileHandle.standardError.write(Data((line + "\u{1B}[K" + (done ? "\n" : "")).utf8))
            } else {
                let q = Int(p.fraction * 4)
                guard q != lastQuarter else { return }
                lastQuarter = q
                FileHandle.standardError.write(Data("\(label) \(p.phase) \(p.completed)/\(p.total)\(p.detail.map { " " + $0 } ?? "")\n".utf8))
            }
        }
    }
}

/// Reads prompts from a routing jsonl (`prompt` or `turns` per line) or a plain text file (one per line).
func routingReadPrompts(_ path: String) throws -> [String] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var prompts: [String] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
        let t = line.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { continue }
        if t.hasPrefix("{"), let obj = try? JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any] {
            if let p = obj["prompt"] as? String { prompts.append(p) }
            else if let turns = obj["turns"] as? [String] { prompts.append(turns.joined(separator: "\n\n")) }
            continue
        }
        prompts.append(t)
    }
    return prompts
}

/// Parses repeated `key=value` numeric hyperparameters.
func routingParseHyperparameters(_ items: [String]) throws -> [String: Double] {
    var out: [String: Double] = [:]
    for item in items {
        let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let v = Double(parts[1]) else { throw ValidationError("--set expects key=number, got '\(item)'") }
        out[parts[0]] = v
    }
    return out
}

/// Formats an optional fraction as a percentage.
func routingPct(_ v: Double?, digits: Int = 1) -> String {
    v.map { String(format: "%.\(digits)f%%", $0 * 100) } ?? "n/a"
}

func routingFmt(_ v: Double?, _ digits: Int = 3) -> String {
    v.map { String(format: "%.\(digits)f", $0) } ?? "n/a"
}
