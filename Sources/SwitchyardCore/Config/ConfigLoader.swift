import Foundation
import SwitchyardPolicy
import Yams

/// Reads and validates the YAML configuration.
///
/// Keys (all optional unless marked):
/// ```yaml
/// server: {host: 127.0.0.1, port: 8080, max_body_bytes: 8388608}
/// reliability: {breaker_failure_threshold: 5, breaker_cooldown: 30s}
/// models:
///   - name: local-small                 # required; what clients send in "model"
///     provider: openai                  # required; openai | anthropic | gemini
///     base_url: http://127.0.0.1:8081/v1  # or `deployments: [{base_url, api_key, name}]`
///     api_key: ${OPENAI_API_KEY}        # ${VAR} and ${VAR:-default} are resolved from the environment
///     upstream_model: smollm2           # model name sent upstream (default: name)
///     openness: open                    # required; open | closed
///     hosting: local                    # required; local | cloud
///     price: {input_per_mtok: 0, output_per_mtok: 0, cached_input_per_mtok: 0}
///     context_window: 8192
///     max_output_tokens: 4096
///     capabilities: {tools: true, json_schema: true, images: false}
///     fallbacks: [other-model]
///     headers: {X-Custom: value}
///     anthropic_version: "2023-06-01"
///     timeouts: {connect: 5s, first_byte: 120s, idle: 60s, total: 600s}
///     retry: {max_retries: 1, initial_backoff: 100ms, max_backoff: 5s, max_retry_after: 10s}
///     stream_usage: true                # ask OpenAI-compatible upstreams for stream usage
/// database: {url: switchyard.db, flush_interval: 500ms, batch_size: 500, store_text: false}
/// admin: {token: ${SWITCHYARD_ADMIN_TOKEN}}
/// auth: {require_keys: false, keys: [{name, key, profile}]}
/// accounting: {reference_model: gpt-5, key_cache: 2s, default_max_output_tokens: 4096}
/// ```
public enum ConfigLoader {
    public static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, path: "", line: nil, message: "cannot read the file (\(error.localizedDescription))")
        }
        var config = try parse(yaml: text, file: file, environment: environment)
        // A config file without a `database` section still gets its request log, beside it.
        if config.database == nil { config.database = .default(configFile: file) }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        for index in config.models.indices {
            guard let path = config.models[index].tlsCAFile else { continue }
            let resolved = path.hasPrefix("/") ? path : directory.appendingPathComponent(path).path
            guard FileManager.default.isReadableFile(atPath: resolved) else {
                throw ConfigError(
                    file: file, path: "models[\(index)].tls_ca_file", line: nil, message: "cannot read '\(resolved)'"
                )
            }
            config.models[index].tlsCAFile = resolved
        }
        return config
    }

    public static func parse(yaml: String, file: String = "<config>", environment: [String: String] = [:]) throws -> GatewayConfig {
        let root: Node
        do {
            // Yams' default resolver types every plain scalar with regular expressions, which
            // on Linux means ICU: compiling them kept about 1.5 MB of ICU's pages resident for
            // the gateway's life. The loader reads scalars as text and converts them itself
            // (`ConfigNode`), so it composes without resolver rules.
            guard let node = try Yams.compose(yaml: yaml, .basic) else {
                throw ConfigError(file: file, path: "", line: nil, message: "the file is empty")
            }
            root = node
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw ConfigError(file: file, path: "", line: nil, message: "not valid YAML: \(error)")
        }
        let top = try ConfigNode(node: root, path: "", file: file, environment: environment)
            .mapping(allowed: ["server", "models", "reliability", "routing", "auth", "database", "admin", "accounting", "tracing"])
        var config = GatewayConfig(models: [])
        if let server = top["server"] { config.server = try parseServer(server) }
        if let reliability = top["reliability"] { config.reliability = try parseReliability(reliability) }
        let modelsNode = try top.required("models")
        let modelNodes = try modelsNode.list()
        if modelNodes.isEmpty { throw modelsNode.error("at least one model must be configured") }
        var seen: [String: Int] = [:]
        for node in modelNodes {
            let model = try parseModel(node)
            if seen[model.name] != nil { throw node.error("duplicate model name '\(model.name)'") }
            seen[model.name] = config.models.count
            config.models.append(model)
        }
        if let routing = top["routing"] { config.routing = try parseRouting(routing, models: Set(seen.keys)) }
        if let auth = top["auth"] { config.auth = try parseAuth(auth, profiles: Set(config.routing.allProfiles.keys)) }
        config.database = try top["database"].map { try parseDatabase($0, file: file) }
        if let admin = top["admin"] {
            let am = try admin.mapping(allowed: ["token"])
            if let t = am["token"] {
                switch try t.interpolated() {
                case .resolved(let token):
                    if !token.isEmpty && token.count < 16 { throw t.error("the admin token must be at least 16 characters") }
                    config.admin.token = token.isEmpty ? nil : token
                case .missing: config.admin.token = nil
                }
            }
        }
        if let accounting = top["accounting"] {
            let am = try accounting.mapping(allowed: ["reference_model", "key_cache", "default_max_output_tokens"])
            if let n = am["reference_model"] {
                let name = try n.string()
                if seen[name] == nil { throw n.error("'\(name)' is not a configured model") }
                config.accounting.referenceModel = name
            }
            if let n = am["key_cache"] { config.accounting.keyCacheSeconds = try n.duration() }
            if let n = am["default_max_output_tokens"] { config.accounting.defaultMaxOutputTokens = try n.int(min: 1) }
        }
        if let tracing = top["tracing"] {
            let tm = try tracing.mapping(allowed: ["otlp_endpoint", "service_name", "sample_ratio"])
            let endpointNode = try tm.required("otlp_endpoint")
            var settings = TracingSettings(otlpEndpoint: try parseURL(endpointNode))
            if let n = tm["service_name"] { settings.serviceName = try n.string() }
            if let n = tm["sample_ratio"] {
                settings.sampleRatio = try n.double(min: 0)
                if settings.sampleRatio > 1 { throw n.error("must be between 0 and 1") }
            }
            config.tracing = settings
        }
        for route in config.routing.routes {
            if let reference = route.referenceModel, seen[reference] == nil {
                throw ConfigError(file: file, path: "routing.routes", line: nil, message: "route '\(route.name)' names reference_model '\(reference)', which is not a configured model")
            }
        }
        if config.routing.allProfiles[config.routing.defaultProfile] == nil {
            throw ConfigError(file: file, path: "routing.default_profile", line: nil, message: "unknown profile '\(config.routing.defaultProfile)'")
        }
        for (i, model) in config.models.enumerated() {
            for fallback in model.fallbacks {
                if seen[fallback] == nil {
                    throw ConfigError(
                        file: file, path: "models[\(i)].fallbacks", line: modelNodes[i].line,
                        message: "fallback '\(fallback)' is not a configured model"
                    )
                }
                if fallback == model.name {
                    throw ConfigError(file: file, path: "models[\(i)].fallbacks", line: modelNodes[i].line, message: "a model cannot fall back to itself")
                }
            }
        }
        return config
    }

    static func parseServer(_ node: ConfigNode) throws -> ServerSettings {
        let m = try node.mapping(allowed: ["host", "port", "max_body_bytes", "idle_timeout"])
        var s = ServerSettings()
        if let n = m["host"] { s.host = try n.string() }
        if let n = m["port"] {
            s.port = try n.int(min: 0)
            if s.port > 65535 { throw n.error("must be at most 65535") }
        }
        if let n = m["max_body_bytes"] { s.maxBodyBytes = try n.int(min: 1024) }
        if let n = m["idle_timeout"] { s.idleTimeout = try positive(n) }
        return s
    }

    static func parseReliability(_ node: ConfigNode) throws -> ReliabilitySettings {
        let m = try node.mapping(allowed: ["breaker_failure_threshold", "breaker_cooldown"])
        var r = ReliabilitySettings()
        if let n = m["breaker_failure_threshold"] { r.breakerFailureThreshold = try n.int(min: 1) }
        if let n = m["breaker_cooldown"] { r.breakerCooldown = try n.duration() }
        return r
    }

    static func enumValue<E: RawRepresentable & CaseIterable>(_ node: ConfigNode, _: E.Type) throws -> E where E.RawValue == String {
        let s = try node.string()
        guard let v = E(rawValue: s) else {
            throw node.error("invalid value '\(s)': expected one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    static let modelKeys: Set<String> = [
        "name", "provider", "base_url", "api_key", "deployments", "upstream_model", "openness", "hosting", "price",
        "context_window", "max_output_tokens", "capabilities", "fallbacks", "headers", "anthropic_version", "timeouts", "retry",
        "tier", "quality_rank", "stream_usage", "tls_ca_file",
    ]

    static func parseModel(_ node: ConfigNode) throws -> ModelConfig {
        let m = try node.mapping(allowed: modelKeys)
        let nameNode = try m.required("name")
        let name = try nameNode.string()
        if name.isEmpty || name.contains(where: { $0.isWhitespace }) { throw nameNode.error("model names must be non-empty and without spaces") }
        let provider = try enumValue(m.required("provider"), ProviderKind.self)
        var deployments: [DeploymentConfig] = []
        if let list = m["deployments"] {
            if m["base_url"] != nil { throw list.error("give either 'base_url' or 'deployments', not both") }
            for (i, d) in try list.list().enumerated() {
                let dm = try d.mapping(allowed: ["base_url", "api_key", "name"])
                let url = try parseURL(dm.required("base_url"))
                let id = try dm["name"]?.string() ?? "\(name)#\(i)"
                deployments.append(DeploymentConfig(id: id, baseURL: url, credential: try parseCredential(dm["api_key"] ?? m["api_key"])))
            }
            if deployments.isEmpty { throw list.error("at least one deployment is required") }
            if Set(deployments.map(\.id)).count != deployments.count { throw list.error("deployment names must be unique") }
        } else if let urlNode = m["base_url"] {
            deployments = [DeploymentConfig(id: name, baseURL: try parseURL(urlNode), credential: try parseCredential(m["api_key"]))]
        } else {
            deployments = [
                DeploymentConfig(id: name, baseURL: defaultBaseURL(provider), credential: try parseCredential(m["api_key"]))
            ]
        }
        var model = ModelConfig(
            name: name, provider: provider, upstreamModel: try m["upstream_model"]?.string(),
            openness: try enumValue(m.required("openness"), Openness.self),
            hosting: try enumValue(m.required("hosting"), Hosting.self),
            deployments: deployments
        )
        if let p = m["price"] {
            let pm = try p.mapping(allowed: ["input_per_mtok", "output_per_mtok", "cached_input_per_mtok"])
            model.price = Price(
                inputPerMTok: try pm["input_per_mtok"]?.double(min: 0) ?? 0,
                outputPerMTok: try pm["output_per_mtok"]?.double(min: 0) ?? 0,
                cachedInputPerMTok: try pm["cached_input_per_mtok"]?.double(min: 0)
            )
        }
        model.contextWindow = try m["context_window"]?.int(min: 1)
        model.maxOutputTokens = try m["max_output_tokens"]?.int(min: 1)
        if let c = m["capabilities"] {
            let cm = try c.mapping(allowed: ["tools", "json_schema", "images"])
            model.capabilities = Capabilities(
                tools: try cm["tools"]?.bool() ?? true,
                jsonSchema: try cm["json_schema"]?.bool() ?? true,
                images: try cm["images"]?.bool() ?? false
            )
        }
        model.fallbacks = try m["fallbacks"]?.stringList() ?? []
        if let h = m["headers"] {
            for (key, valueNode) in try h.entries() {
                let value = try valueNode.string()
                guard isToken(key) else { throw valueNode.error("'\(key)' is not a valid HTTP header name") }
                guard value.allSatisfy({ $0.isASCII && $0 != "\r" && $0 != "\n" }) else {
                    throw valueNode.error("header values must be ASCII without line breaks")
                }
                model.headers.append((key, value))
            }
        }
        if let v = m["anthropic_version"] { model.anthropicVersion = try v.string() }
        if let v = m["tier"] { model.tier = try enumValue(v, QualityTier.self) }
        if let v = m["quality_rank"] { model.qualityRank = try v.int() }
        if let v = m["stream_usage"] { model.requestStreamUsage = try v.bool() }
        if let v = m["tls_ca_file"] {
            let path = try v.string()
            if path.isEmpty { throw v.error("give the path of a PEM file") }
            guard model.deployments.contains(where: { $0.baseURL.hasPrefix("https://") }) else {
                throw v.error("applies to https:// deployments only, and this model has none")
            }
            model.tlsCAFile = path
        }
        if let t = m["timeouts"] {
            let tm = try t.mapping(allowed: ["connect", "first_byte", "idle", "total"])
            if let n = tm["connect"] { model.timeouts.connect = try positive(n) }
            if let n = tm["first_byte"] { model.timeouts.firstByte = try positive(n) }
            if let n = tm["idle"] { model.timeouts.idle = try positive(n) }
            if let n = tm["total"] { model.timeouts.total = try positive(n) }
        }
        if let r = m["retry"] {
            let rm = try r.mapping(allowed: ["max_retries", "initial_backoff", "max_backoff", "max_retry_after"])
            if let n = rm["max_retries"] { model.retry.maxRetries = try n.int(min: 0) }
            if let n = rm["initial_backoff"] { model.retry.initialBackoff = try n.duration() }
            if let n = rm["max_backoff"] { model.retry.maxBackoff = try n.duration() }
            if let n = rm["max_retry_after"] { model.retry.maxRetryAfter = try n.duration() }
        }
        return model
    }

    static func parseRouting(_ node: ConfigNode, models: Set<String>) throws -> RoutingSettings {
        let m = try node.mapping(allowed: ["default_profile", "profiles", "routes", "custom_rules", "data_class_mapping", "router"])
        var r = RoutingSettings()
        if let n = m["router"] {
            let rm = try n.mapping(allowed: ["file", "encoder_dir", "encoder_precision"])
            let fileNode = try rm.required("file")
            let path = try fileNode.string()
            guard FileManager.default.fileExists(atPath: path) else { throw fileNode.error("router file '\(path)' does not exist") }
            r.routerFile = path
            r.encoderDirectory = try rm["encoder_dir"]?.string()
            if let p = rm["encoder_precision"] { r.encoderPrecision = try enumValue(p, EncoderPrecisionSetting.self) }
        }
        if let n = m["default_profile"] { r.defaultProfile = try n.string() }
        if let n = m["profiles"] { r.profiles = try n.list().map { try $0.decode(PolicyProfile.self) } }
        if let n = m["custom_rules"] {
            r.customRules = try n.list().map { try $0.decode(CustomRule.self) }
            do {
                _ = try SensitiveDataScanner(customRules: r.customRules)
            } catch {
                throw n.error("\(error)")
            }
        }
        if let n = m["data_class_mapping"] { r.dataClassMapping = try n.decode(DataClassMapping.self) }
        if let n = m["routes"] {
            for routeNode in try n.list() {
                let route = try routeNode.decode(PolicyRoute.self)
                if models.contains(route.name) { throw routeNode.error("route '\(route.name)' has the name of a model") }
                if r.routes.contains(where: { $0.name == route.name }) { throw routeNode.error("duplicate route '\(route.name)'") }
                let referenced = route.candidates + [route.strongModel, route.weakModel].compactMap { $0 } + route.rules.map(\.target)
                for name in referenced where !models.contains(name) {
                    throw routeNode.error("route '\(route.name)' names '\(name)', which is not a configured model")
                }
                r.routes.append(route)
            }
        }
        for p in r.profiles {
            for name in p.allowedModels ?? [] where !models.contains(name) {
                throw node.error("profile '\(p.name)' allows '\(name)', which is not a configured model")
            }
        }
        return r
    }

    static func parseDatabase(_ node: ConfigNode, file: String) throws -> DatabaseSettings {
        let m = try node.mapping(allowed: ["url", "flush_interval", "batch_size", "store_text"])
        var settings = DatabaseSettings.default(configFile: file)
        if let n = m["url"] {
            guard case .resolved(let url) = try n.interpolated(), !url.isEmpty else { throw n.error("the database URL is empty or names an unset variable") }
            guard let backend = DatabaseSettings.backend(from: url, configFile: file) else {
                throw n.error("expected a SQLite path, sqlite:PATH or a postgres:// URL")
            }
            settings.backend = backend
        }
        if let n = m["flush_interval"] { settings.flushInterval = try positive(n) }
        if let n = m["batch_size"] { settings.batchSize = try n.int(min: 1) }
        if let n = m["store_text"] { settings.storeText = try n.bool() }
        return settings
    }

    static func parseAuth(_ node: ConfigNode, profiles: Set<String>) throws -> AuthSettings {
        let m = try node.mapping(allowed: ["keys", "require_keys"])
        var auth = AuthSettings()
        auth.requireKeys = try m["require_keys"]?.bool() ?? false
        for keyNode in try m["keys"]?.list() ?? [] {
            let km = try keyNode.mapping(allowed: ["name", "key", "profile"])
            let name = try km.required("name").string()
            let secret = try km.required("key").string()
            if secret.count < 8 { throw keyNode.error("keys must be at least 8 characters") }
            let profile = try km["profile"]?.string()
            if let profile, !profiles.contains(profile) { throw keyNode.error("unknown profile '\(profile)'") }
            auth.keys.append(AuthSettings.Key(name: name, secret: secret, profile: profile))
        }
        return auth
    }

    static func positive(_ node: ConfigNode) throws -> Double {
        let d = try node.duration()
        if d <= 0 { throw node.error("must be greater than zero") }
        return d
    }

    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    static func defaultBaseURL(_ provider: ProviderKind) -> String {
        switch provider {
        case .openai: return "https://api.openai.com/v1"
        case .anthropic: return "https://api.anthropic.com"
        case .gemini: return "https://generativelanguage.googleapis.com"
        }
    }

    static func parseURL(_ node: ConfigNode) throws -> String {
        var s = try node.string()
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            url.host != nil
        else { throw node.error("'\(s)' is not an http(s) URL") }
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }

    static func parseCredential(_ node: ConfigNode?) throws -> Credential {
        guard let node else { return .none }
        switch try node.interpolated() {
        case .resolved(let s):
            guard s.allSatisfy({ $0.isASCII && !$0.isNewline }) else { throw node.error("API keys must be ASCII on one line") }
            return s.isEmpty ? .none : .value(s)
        case .missing(let variable): return .missing(variable: variable)
        }
    }
}
