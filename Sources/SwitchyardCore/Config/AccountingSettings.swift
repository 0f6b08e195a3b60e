import Foundation

/// Where the request log, virtual keys, budgets and rate-limit windows live.
///
/// SQLite is the default so that a single gateway keeps an exact record with no setup;
/// PostgreSQL is for several replicas that must share budgets and limits.
public struct DatabaseSettings: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        /// An absolute path to the SQLite file.
        case sqlite(path: String)
        /// A `postgres://` URL, kept whole (it may hold a password: never logged).
        case postgres(url: String)
    }

    public var backend: Backend
    /// How often buffered request-log rows are written; a crash loses at most this much.
    public var flushInterval: Double = 0.5
    /// Rows per write; a full buffer is written at once, without waiting for the interval.
    public var batchSize: Int = 500
    /// Keep prompt and answer text for every route (routes can also turn it on one by one).
    public var storeText: Bool = false

    public init(backend: Backend) { self.backend = backend }

    /// The backend for messages: the SQLite path, or the PostgreSQL URL without its password.
    public var redactedDescription: String {
        switch backend {
        case .sqlite(let path): return "sqlite:" + path
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres://…" }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres://…"
        }
    }

    /// The default: `switchyard.db` next to the config file.
    public static func `default`(configFile: String) -> DatabaseSettings {
        DatabaseSettings(backend: .sqlite(path: resolve("switchyard.db", against: configFile)))
    }

    /// Parses `postgres://…`, `sqlite:PATH` or a bare path; relative paths are taken from
    /// the config file's folder so that the database does not depend on the working directory.
    public static func backend(from url: String, configFile: String) -> Backend? {
        let lower = url.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") { return .postgres(url: url) }
        var path = url
        if lower.hasPrefix("sqlite://") {
            path = String(url.dropFirst("sqlite://".count))
        } else if lower.hasPrefix("sqlite:") {
            path = String(url.dropFirst("sqlite:".count))
        } else if url.contains("://") {
            return nil
        }
        guard !path.isEmpty else { return nil }
        return .sqlite(path: resolve(path, against: configFile))
    }

    static func resolve(_ path: String, against configFile: String) -> String {
        if path.hasPrefix("/") { return path }
        let folder = URL(fileURLWithPath: configFile).deletingLastPathComponent()
        return folder.appendingPathComponent(path).standardizedFileURL.path
    }
}

/// The admin API under `/admin/`; off unless a token is configured.
public struct AdminSettings: Sendable, Equatable {
    public var token: String?
    public init(token: String? = nil) { self.token = token }
}

/// Pricing references and caching for the accounting layer.
public struct AccountingSettings: Sendable, Equatable {
    /// The model whose prices give each request's counterfactual cost ("what all-frontier
    /// would have cost"). Nil: the priciest closed model in the catalog.
    public var referenceModel: String?
    /// How long a looked-up virtual key stays cached in one process; a key revoked through
    /// another process (or the CLI) stops working within this time.
    public var keyCacheSeconds: Double = 2
    /// Output tokens assumed for a budget reservation when neither the request nor the
    /// model gives a limit.
    public var defaultMaxOutputTokens: Int = 4096
    public init() {}
}

/// OTLP/HTTP trace export; off unless an endpoint is configured.
public struct TracingSettings: Sendable, Equatable {
    /// The collector's base URL (`/v1/traces` is appended), e.g. `http://127.0.0.1:4318`.
    public var otlpEndpoint: String
    public var serviceName: String = "switchyard"
    /// Share of requests traced, 0…1.
    public var sampleRatio: Double = 1
    public init(otlpEndpoint: String) { self.otlpEndpoint = otlpEndpoint }
}
