import Foundation

/// The per-request policy pipeline, a pure function of its inputs:
///
/// 1. **Profile** — chosen by the caller.
/// 2. **Classify** — scan every text; data class = max(profile default, header, detections).
/// 3. **MAY** — drop candidates that break a hard constraint: profile allow-lists and price cap,
///    data class (above `maxCloudDataClass` → local only, unless redaction masks the
///    detections), capabilities, context window, health. An explicitly requested model that
///    the policy forbids is refused (403), never silently replaced.
/// 4. **SHOULD** — route rules, then the strategy (`fixed`, `cheapest`, `strongest`,
///    `quality-router`, `cascade`) picks the model.
/// 5. **FALLBACK** — the remaining allowed candidates, in strategy order. Nothing dropped in
///    step 3 ever appears, so confidential data never falls back to the cloud; if nothing
///    is left the answer is a 503 refusal.
///
/// No I/O: the gateway supplies health flags and (optionally) a router score.
public struct PolicyEngine: Sendable {
    /// The catalog, with current health flags.
    public var candidates: [PolicyCandidate]
    public var routes: [String: PolicyRoute]
    public let scanner: SensitiveDataScanner
    public var mapping: DataClassMapping
    public var heuristic: HeuristicQualityScorer

    /// A learned router: returns the need for a strong model in [0, 1].
    public typealias Router = @Sendable ([PolicyText]) -> Double

    /// Custom rules with a `dataClass` are folded into `mapping.byRule`.
    public init(
        candidates: [PolicyCandidate], routes: [PolicyRoute] = [], scanner: SensitiveDataScanner,
        mapping: DataClassMapping = .default, heuristic: HeuristicQualityScorer = HeuristicQualityScorer()
    ) {
        self.candidates = candidates
        self.routes = Dictionary(routes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.scanner = scanner
        var m = mapping
        for r in scanner.customRules { if let dc = r.dataClass, m.byRule[r.name] == nil { m.byRule[r.name] = dc } }
        self.mapping = m
        self.heuristic = heuristic
    }

    private enum CloudAccess {
        case open  // cloud may see the texts as they are
        case masked  // cloud may see the texts only after redaction
        case denied(String)  // reason
    }

    /// Decides where `req` may go and which model should take it.
    ///
    /// - Parameters:
    ///   - profile: the caller's profile (API key, header or config default).
    ///   - router: optional learned router; otherwise `req.routerScore`, otherwise the heuristic.
    /// - Returns: a ``PolicyDecision``, or a ``PolicyRefusal`` carrying the HTTP status to answer with.
    // swiftlint:disable:next function_body_length cyclomatic_complexity
    public func decide(_ req: PolicyRequest, profile: PolicyProfile, router: Router? = nil) -> Result<PolicyDecision, PolicyRefusal> {
        // 1. Scope: route, explicit model, or everything.
        var route: PolicyRoute?
        var explicit: PolicyCandidate?
        var scope: [PolicyCandidate]
        if let name = req.model, !name.isEmpty {
            if let r = routes[name] {
                route = r
                scope = r.candidates.isEmpty ? candidates : r.candidates.compactMap { n in candidates.first { $0.name == n } }
            } else if let c = candidates.first(where: { $0.name == name }) {
                explicit = c
                scope = profile.explicitModelFallbacks ? [c] + candidates.filter { $0.name != name } : [c]
            } else {
                return .failure(
                    PolicyRefusal(
                        status: 404, code: "unknown_model", message: "No model or route named '\(name)'.",
                        reason: "unknown_model", detections: [:], dataClass: profile.defaultDataClass, candidates: []))
            }
        } else {
            scope = candidates
        }

        // 2. Classification.
        let detections = scanner.scan(req.texts.map(\.text))
        // Per-kind tallies in fixed arrays (index = position in `SensitiveKind.allCases`).
        var kindCounts = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var detectionClass = DataClass.public
        var blockingMask: UInt32 = 0
        var presentMask: UInt32 = 0
        let byRuleEmpty = mapping.byRule.isEmpty
        var classCache: UInt64 = 0  // 4 bits per kind: 0 = not looked up, else rawValue + 1
        withUnsafeMutableBytes(of: &kindCounts) { raw in
            let tally = raw.bindMemory(to: Int.self)
            for ds in detections {
                for d in ds {
                    let k = SensitiveDataScanner.kindIndex(d.kind)
                    tally[k] += 1
                    presentMask |= 1 << UInt32(k)
                    let dc: DataClass
                    if byRuleEmpty {
                        let shift = UInt64(4 * k)
                        let cached = (classCache >> shift) & 0xF
                        if cached != 0 {
                            dc = DataClass(rawValue: Int(cached) - 1) ?? .confidential
                        } else {
                            dc = mapping.byKind[d.kind] ?? .confidential
                            classCache |= UInt64(dc.rawValue + 1) << shift
                        }
                    } else {
                        dc = mapping.dataClass(of: d)
                    }
                    detectionClass = max(detectionClass, dc)
                    if dc > profile.maxCloudDataClass { blockingMask |= 1 << UInt32(k) }
                }
            }
        }
        var counts: [SensitiveKind: Int] = [:]
        if presentMask != 0 {
            counts = Dictionary(minimumCapacity: presentMask.nonzeroBitCount)
            withUnsafeBytes(of: &kindCounts) { raw in
                let tally = raw.bindMemory(to: Int.self)
                for (k, kind) in Self.allKinds.enumerated() where tally[k] > 0 { counts[kind] = tally[k] }
            }
        }
        let headerClass = req.headerDataClass ?? .public
        let baseClass = max(profile.defaultDataClass, headerClass)
        let dataClass = max(baseClass, detectionClass)
        let mode: RedactionMode = profile.allowRedaction ? (req.redaction ?? route?.redaction ?? profile.redaction) : .off
        let kindList = Self.kindNames(blockingMask)
        let anyDetection = presentMask != 0
        let blockingKindsEmpty = blockingMask == 0

        var dataReason: String?
        let access: CloudAccess
        if baseClass > profile.maxCloudDataClass {
            let why =
                headerClass > profile.maxCloudDataClass && headerClass >= profile.defaultDataClass
                ? "header:\(headerClass.name)" : "profile:\(profile.name)"
            access = .denied(why)
            dataReason = "\(why)→local"
        } else if !blockingKindsEmpty {
            if mode != .off {
                access = .masked
                dataReason = "pii:\(kindList)→redact"
            } else {
                access = .denied("pii:\(kindList)")
                dataReason = "pii:\(kindList)→local"
            }
        } else if mode == .always && anyDetection {
            access = .masked
            dataReason = "pii:\(Self.kindNames(presentMask))→redact"
        } else {
            access = .open
        }

        // 3. MAY: hard constraints.
        var verdicts: [CandidateVerdict] = []
        verdicts.reserveCapacity(scope.count)
        var kept: [PolicyCandidate] = []
        for c in scope {
            var reason: String?
            var redacted = false
            if let m = profile.allowedModels, !m.contains(c.name) {
                reason = "profile:model_not_allowed"
            } else if let t = profile.allowedTiers, !t.contains(c.tier) {
                reason = "profile:tier_not_allowed"
            } else if let h = profile.allowedHosting, !h.contains(c.hosting) {
                reason = "profile:hosting_not_allowed"
            } else if let cap = profile.maxBlendedPrice, c.blendedPrice > cap {
                reason = "budget:price"
            } else if c.hosting == .cloud {
                switch access {
                case .open: break
                case .masked: redacted = true
                case .denied: reason = "class:\(dataClass.name)->local_only"
                }
            }
            if reason == nil {
                if req.needs.tools && !c.capabilities.tools {
                    reason = "needs:tools"
                } else if req.needs.jsonSchema && !c.capabilities.jsonSchema {
                    reason = "needs:json_schema"
                } else if req.needs.images && !c.capabilities.images {
                    reason = "needs:images"
                } else if req.needs.estimatedPromptTokens + req.needs.maxOutputTokens > c.contextWindow {
                    reason = "needs:context"
                } else if !c.healthy {
                    reason = "unhealthy"
                }
            }
            if let reason {
                verdicts.append(CandidateVerdict(name: c.name, kept: false, reason: reason))
            } else {
                verdicts.append(CandidateVerdict(name: c.name, kept: true, reason: redacted ? "ok+redact" : "ok", redacted: redacted))
                kept.append(c)
            }
        }

        func refuse(_ status: Int, _ code: String, _ message: String, _ reason: String) -> Result<PolicyDecision, PolicyRefusal> {
            .failure(
                PolicyRefusal(
                    status: status, code: code, message: message, reason: reason, detections: counts, dataClass: dataClass,
                    candidates: verdicts))
        }
        let prefix = dataReason.map { $0 + " " } ?? ""

        if let e = explicit, let v = verdicts.first, !v.kept {
            if v.reason.hasPrefix("profile:") || v.reason.hasPrefix("class:") || v.reason.hasPrefix("budget:") {
                let why: String
                if v.reason.hasPrefix("class:") {
                    why = "the request is \(dataClass.name) (\(Self.accessReason(access))) and '\(e.name)' is a cloud model"
                } else {
                    why = "profile '\(profile.name)' does not allow '\(e.name)' (\(v.reason))"
                }
                return refuse(403, "policy_forbids_model", "Policy forbids the requested model: \(why).", "\(prefix)forbidden:\(e.name)")
            }
            if v.reason.hasPrefix("needs:") {
                return refuse(400, "model_lacks_capability", "'\(e.name)' cannot serve this request (\(v.reason)).", "\(v.reason):\(e.name)")
            }
            if kept.isEmpty {
                return refuse(503, "model_unavailable", "'\(e.name)' is currently unavailable.", "unhealthy:\(e.name)")
            }
        }
        guard !kept.isEmpty else {
            let summary = Dictionary(grouping: verdicts, by: \.reason).map { "\($0.key)×\($0.value.count)" }.sorted().joined(separator: ", ")
            return refuse(
                503, "no_eligible_model",
                "No allowed and healthy model can serve this request" + (summary.isEmpty ? "." : " (\(summary))."),
                "\(prefix)no_eligible_model")
        }

        // 4. SHOULD: rules, then strategy.
        // A profile that imposes a strategy (max-quality, prototype: strongest) overrides the
        // route's; profiles that defer to the router (balanced, budget) let the route decide.
        let routeStrategy = profile.strategy == .qualityRouter ? (route?.strategy ?? profile.strategy) : profile.strategy
        let strategy = explicit != nil ? RouteStrategy.fixed : routeStrategy
        let preferred = profile.preferred
        func isPreferred(_ c: PolicyCandidate) -> Bool { preferred.contains { c.has($0) } }
        // Sorting indices with precomputed preference flags: same comparisons, same order,
        // without copying candidates around.
        func strongestOrder(_ cs: [PolicyCandidate], prefer: Bool) -> [PolicyCandidate] {
            let pref = prefer && !preferred.isEmpty ? cs.map(isPreferred) : []
            let idx = Self.stableOrder(cs.count) { i, j in
                let a = cs[i], b = cs[j]
                if !pref.isEmpty, pref[i] != pref[j] { return pref[i] }
                if a.tier != b.tier { return a.tier > b.tier }
                if a.qualityRank != b.qualityRank { return a.qualityRank > b.qualityRank }
                if a.blendedPrice != b.blendedPrice { return a.blendedPrice < b.blendedPrice }
                return a.name < b.name
            }
            return idx.map { cs[$0] }
        }
        func cheapestOrder(_ cs: [PolicyCandidate]) -> [PolicyCandidate] {
            let pref = preferred.isEmpty ? [] : cs.map(isPreferred)
            let idx = Self.stableOrder(cs.count) { i, j in
                let a = cs[i], b = cs[j]
                if !pref.isEmpty, pref[i] != pref[j] { return pref[i] }
                if a.blendedPrice != b.blendedPrice { return a.blendedPrice < b.blendedPrice }
                if a.tier != b.tier { return a.tier > b.tier }
                if a.qualityRank != b.qualityRank { return a.qualityRank > b.qualityRank }
                return a.name < b.name
            }
            return idx.map { cs[$0] }
        }

        let taskTexts = req.texts.filter { $0.role == .user || $0.role == .system }
        var analysis: (score: QualityScore, signalMask: UInt8)?
        func analyzed() -> (score: QualityScore, signalMask: UInt8) {
            if let a = analysis { return a }
            let a = heuristic.analyzeCore(taskTexts.map(\.text))
            analysis = a
            return a
        }

        var order: [PolicyCandidate]
        var routing: String
        var score: QualityScore?
        var threshold: Double?
        var cascade: [String]?
        var firedRule: String?

        if let r = route, let (rule, target) = matchRule(r.rules, taskTexts, kept, analyzed) {
            firedRule = rule.name
            order = [target] + strongestOrder(kept.filter { $0.name != target.name }, prefer: true)
            routing = "rule:\(rule.name)→\(target.name)"
        } else {
            switch strategy {
            case .fixed:
                order = kept  // scope order = route order (or explicit model first)
                if let e = explicit {
                    routing = e.name == order[0].name ? "explicit→\(e.name)" : "explicit:\(e.name):unhealthy→\(order[0].name)"
                } else {
                    routing = "fixed→\(order[0].name)"
                }
            case .cheapest:
                order = cheapestOrder(kept)
                routing = "cheapest→\(order[0].name)"
            case .strongest:
                order = strongestOrder(kept, prefer: true)
                routing = "strongest→\(order[0].name)"
            case .qualityRouter, .cascade:
                let s: QualityScore
                if let router {
                    s = QualityScore(value: router(req.texts), source: "router", reason: "router")
                } else if let v = req.routerScore {
                    s = QualityScore(value: v, source: "precomputed", reason: "precomputed")
                } else {
                    s = analyzed().score
                }
                let t = route?.threshold ?? profile.routerThreshold
                score = s
                threshold = t
                // Sort only what the branch needs.
                let goStrong = strategy == .qualityRouter && s.value >= t
                let weakFirst = goStrong ? [] : cheapestOrder(kept)
                let strongFirst = goStrong || strategy == .cascade ? strongestOrder(kept, prefer: false) : []
                let label = s.source == "heuristic" ? "heuristic" : "router"
                if strategy == .cascade {
                    let strong = route?.strongModel.flatMap { n in kept.first { $0.name == n } } ?? strongFirst[0]
                    let weak = route?.weakModel.flatMap { n in kept.first { $0.name == n } } ?? weakFirst[0]
                    order = [weak] + weakFirst.filter { $0.name != weak.name }
                    var ladder = [weak.name]
                    if strong.name != weak.name { ladder.append(strong.name) }
                    cascade = ladder
                    routing = "cascade→\(ladder.joined(separator: ">"))"
                } else if goStrong {
                    let strong = route?.strongModel.flatMap { n in kept.first { $0.name == n } } ?? strongFirst[0]
                    order = [strong] + strongFirst.filter { $0.name != strong.name }
                    routing = "\(label):\(HeuristicQualityScorer.fmt(s.value))>=\(HeuristicQualityScorer.fmt(t))→\(strong.name)"
                } else {
                    let weak = route?.weakModel.flatMap { n in kept.first { $0.name == n } } ?? weakFirst[0]
                    order = [weak] + weakFirst.filter { $0.name != weak.name }
                    routing = "\(label):\(HeuristicQualityScorer.fmt(s.value))<\(HeuristicQualityScorer.fmt(t))→\(weak.name)"
                }
            }
        }

        // 5. FALLBACK + redaction plan.
        let names = order.map(\.name)
        var plan: RedactionPlan?
        if case .masked = access {
            let cloudTargets = order.filter { $0.hosting == .cloud }.map(\.name)
            if !cloudTargets.isEmpty {
                let red = Redactor.redact(req.texts.map(\.text), detections: detections)
                var masked = req.texts
                for k in masked.indices { masked[k].text = red.texts[k] }
                plan = RedactionPlan(models: cloudTargets, texts: masked, mapping: red.mapping, counts: red.counts)
            }
        }
        let chosen = names[0]
        let fallbacks = explicit != nil && !profile.explicitModelFallbacks ? [] : Array(names.dropFirst())
        var reasonData = dataReason
        if case .masked = access, plan == nil { reasonData = reasonData?.replacingOccurrences(of: "→redact", with: "→local") }
        if reasonData == nil, anyDetection {
            reasonData = "pii:\(Self.kindNames(presentMask))→allowed"
        }
        let reason = (reasonData.map { $0 + " " } ?? "") + routing
        return .success(
            PolicyDecision(
                profile: profile.name, route: route?.name, model: chosen, fallbacks: fallbacks, strategy: strategy,
                candidates: verdicts, detections: counts, dataClass: dataClass, score: score, threshold: threshold,
                redaction: plan, cascade: cascade, rule: firedRule, reason: reason))
    }

    private static let allKinds = SensitiveKind.allCases

    /// Indices `0..<n` stably sorted by `less` (insertion sort: candidate lists are short).
    @inline(__always) static func stableOrder(_ n: Int, _ less: (Int, Int) -> Bool) -> [Int] {
        var idx = [Int](repeating: 0, count: n)
        for k in 0..<n {
            var j = k
            while j > 0 && less(k, idx[j - 1]) {
                idx[j] = idx[j - 1]
                j -= 1
            }
            idx[j] = k
        }
        return idx
    }

    /// Kind indices ordered by raw value, the order reasons list kinds in.
    private static let kindsByName: [(index: Int, name: String)] = SensitiveKind.allCases
        .map { (SensitiveDataScanner.kindIndex($0), $0.rawValue) }.sorted { $0.1 < $1.1 }

    /// Raw values of the kinds in `mask`, sorted, joined with `+`.
    private static func kindNames(_ mask: UInt32) -> String {
        guard mask != 0 else { return "" }
        var out = ""
        for (k, name) in kindsByName where mask & (1 << UInt32(k)) != 0 {
            if !out.isEmpty { out += "+" }
            out += name
        }
        return out
    }

    private static func accessReason(_ a: CloudAccess) -> String {
        switch a {
        case .open: return "open"
        case .masked: return "masked"
        case .denied(let why): return why
        }
    }

    /// First rule whose keyword occurs in the task texts or whose category the heuristic sees,
    /// and whose target passed the hard constraints.
    private func matchRule(
        _ rules: [RouteRule], _ texts: [PolicyText], _ kept: [PolicyCandidate],
        _ analyzed: () -> (score: QualityScore, signalMask: UInt8)
    ) -> (RouteRule, PolicyCandidate)? {
        for rule in rules {
            guard let target = kept.first(where: { $0.name == rule.target }) else { continue }
            if !rule.categories.isEmpty, !HeuristicQualityScorer.signalSet(analyzed().signalMask).isDisjoint(with: rule.categories) {
                return (rule, target)
            }
            for kw in rule.keywords where !kw.isEmpty {
                let k = Array(kw.lowercased().utf8)
                for t in texts where Self.containsWord(t.text, k) { return (rule, target) }
            }
        }
        return nil
    }

    static func containsWord(_ text: String, _ kw: [UInt8]) -> Bool {
        var s = text
        return s.withUTF8 { buf in
            let b = Bytes(p: buf)
            guard kw.count <= b.count else { return false }
            for i in 0...(b.count - kw.count) where ByteClass.lower(b[i]) == kw[0] {
                if b.matchesIgnoringCase(kw, at: i) && (!ByteClass.isWord(kw[0]) || b.isWordStart(i))
                    && (!ByteClass.isWord(kw[kw.count - 1]) || b.isWordEnd(i + kw.count))
                {
                    return true
                }
            }
            return false
        }
    }
}
