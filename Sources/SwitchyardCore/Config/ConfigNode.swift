import Foundation
import Yams

/// A cursor into the YAML tree that knows its key path, line and file, so every accessor
/// can fail with a precise `ConfigError`. Mappings remember which keys were read, so
/// misspelt keys are reported instead of silently ignored.
struct ConfigNode {
    let node: Node
    let path: String
    let file: String
    let environment: [String: String]

    var line: Int? { node.mark.map { $0.line } }

    func error(_ message: String) -> ConfigError { ConfigError(file: file, path: path, line: line, message: message) }

    func child(_ node: Node, _ component: String) -> ConfigNode {
        let childPath = component.hasPrefix("[") || path.isEmpty ? path + component : path + "." + component
        return ConfigNode(node: node, path: childPath, file: file, environment: environment)
    }

    var isNull: Bool {
        if case .scalar(let s) = node { return s.tag.rawValue == Tag.Name.null.rawValue || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)) }
        return false
    }

    /// The scalar's text with `${VAR}` / `${VAR:-default}` resolved. Unset variables throw.
    func string() throws -> String {
        switch try interpolated() {
        case .resolved(let s): return s
        case .missing(let v): throw error("environment variable '\(v)' is not set")
        }
    }

    enum Interpolation { case resolved(String), missing(String) }

    func interpolated() throws -> Interpolation {
        guard case .scalar(let scalar) = node else { throw error("expected a string, got \(kind)") }
        let text = scalar.string
        guard text.contains("${") else { return .resolved(text) }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { throw error("unterminated '${' in '\(text)'") }
            let inner = rest[start.upperBound..<end]
            let name: Substring
            var fallback: Substring?
            if let sep = inner.range(of: ":-") {
                name = inner[..<sep.lowerBound]
                fallback = inner[sep.upperBound...]
            } else {
                name = inner
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw error("invalid environment variable reference '${\(inner)}'")
            }
            if let value = environment[String(name)], !value.isEmpty {
                result += value
            } else if let fallback {
                result += fallback
            } else {
                return .missing(String(name))
            }
            rest = rest[rest.index(after: end)...]
        }
        result += rest
        return .resolved(result)
    }

    var kind: String {
        switch node {
        case .scalar: return "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    func int(min: Int? = nil) throws -> Int {
        let s = try string()
        guard let v = Int(s) else { throw error("expected an integer, got '\(s)'") }
        if let min, v < min { throw error("must be at least \(min), got \(v)") }
        return v
    }

    func double(min: Double? = nil) throws -> Double {
        let s = try string()
        guard let v = Double(s), v.isFinite else { throw error("expected a number, got '\(s)'") }
        if let min, v < min { throw error("must be at least \(min), got \(v)") }
        return v
    }

    func bool() throws -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw error("expected true or false, got '\(other)'")
        }
    }

    /// A duration as seconds: a bare number means seconds; `ms`, `s`, `m`, `h` suffixes are accepted.
    func duration() throws -> Double {
        let s = try string().trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            if let v = Double(s.dropLast(suffix.count)), v >= 0 { return v * scale }
        }
        if let v = Double(s), v >= 0 { return v }
        throw error("expected a duration such as 250ms, 5s, 2m, got '\(s)'")
    }

    func list() throws -> [ConfigNode] {
        guard case .sequence(let seq) = node else { throw error("expected a list, got \(kind)") }
        return seq.enumerated().map { child($0.element, "[\($0.offset)]") }
    }

    func stringList() throws -> [String] {
        if case .scalar = node { return [try string()] }
        return try list().map { try $0.string() }
    }

    /// A free-form mapping (such as extra headers) as ordered key/value pairs.
    func entries() throws -> [(String, ConfigNode)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping, got \(kind)") }
        return try mapping.map { pair in
            guard case .scalar(let key) = pair.key else { throw error("keys must be strings") }
            return (key.string, child(pair.value, key.string))
        }
    }

    /// Decodes a subtree with the type's own `Decodable` conformance (policy types define
    /// their snake_case keys themselves), turning decoding errors into `ConfigError`s.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try YAMLDecoder().decode(type, from: node)
        } catch let DecodingError.keyNotFound(key, context) {
            throw error("missing required key '\(key.stringValue)'\(Self.at(context))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw error("\(context.debugDescription)\(Self.at(context))")
        } catch let DecodingError.dataCorrupted(context) {
            throw error("\(context.debugDescription)\(Self.at(context))")
        } catch {
            throw self.error("\(error)")
        }
    }

    private static func at(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return path.isEmpty ? "" : " (at \(path))"
    }

    /// The mapping's entries, rejecting keys outside `allowed`.
    func mapping(allowed: Set<String>) throws -> ConfigMapping {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping, got \(kind)") }
        var entries: [String: ConfigNode] = [:]
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let key) = keyNode else { throw error("keys must be strings") }
            let name = key.string
            guard allowed.contains(name) else {
                let suggestion = allowed.sorted().first { $0.lowercased() == name.lowercased().replacingOccurrences(of: "-", with: "_") }
                let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? " (known keys: \(allowed.sorted().joined(separator: ", ")))"
                throw ConfigError(file: file, path: path.isEmpty ? name : "\(path).\(name)", line: keyNode.mark?.line, message: "unknown key\(hint)")
            }
            if entries[name] != nil { throw error("duplicate key '\(name)'") }
            entries[name] = child(valueNode, name)
        }
        return ConfigMapping(owner: self, entries: entries)
    }
}

struct ConfigMapping {
    let owner: ConfigNode
    let entries: [String: ConfigNode]

    subscript(key: String) -> ConfigNode? {
        guard let n = entries[key], !n.isNull else { return nil }
        return n
    }

    func required(_ key: String) throws -> ConfigNode {
        guard let n = self[key] else {
            throw ConfigError(file: owner.file, path: owner.path, line: owner.line, message: "missing required key '\(key)'")
        }
        return n
    }
}
