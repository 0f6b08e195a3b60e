import Foundation

/// Renders a cost–quality curve as a standalone SVG: the router's decile curve, the random-routing
/// line (straight from all-weak to all-strong) and the oracle (strong only where it strictly wins).
public enum CostQualityPlot {
    public static func svg(_ eval: RoutingEvaluation, title: String, xAxis: String = "strong-model calls (%)") -> String {
        let w = 640.0, h = 440.0, left = 64.0, right = 24.0, top = 48.0, bottom = 56.0
        let pw = w - left - right, ph = h - top - bottom
        let qs = eval.curve.map(\.quality) + [eval.weakQuality, eval.strongQuality, eval.oracleQuality]
        var lo = qs.min() ?? 0, hi = qs.max() ?? 1
        if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
        let pad = (hi - lo) * 0.08
        lo -= pad; hi += pad
        func x(_ share: Double) -> Double { left + share * pw }
        func y(_ q: Double) -> Double { top + (1 - (q - lo) / (hi - lo)) * ph }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(w / 2))" y="24" text-anchor="middle" font-size="15">\(esc(title))</text>

        """
        // Grid and ticks.
        for i in 0...10 {
            let sx = x(Double(i) / 10)
            s += "<line x1=\"\(f(sx))\" y1=\"\(f(top))\" x2=\"\(f(sx))\" y2=\"\(f(top + ph))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(sx))\" y=\"\(f(top + ph + 16))\" text-anchor=\"middle\">\(i * 10)</text>\n"
        }
        for i in 0...5 {
            let q = lo + (hi - lo) * Double(i) / 5
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y(q)))\" x2=\"\(f(left + pw))\" y2=\"\(f(y(q)))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y(q) + 4))\" text-anchor=\"end\">\(String(format: "%.3f", q))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(h - 14))\" text-anchor=\"middle\">\(esc(xAxis))</text>\n"
        s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">mean quality</text>\n"
        // Random line and oracle.
        s += "<line x1=\"\(f(x(0)))\" y1=\"\(f(y(eval.weakQuality)))\" x2=\"\(f(x(1)))\" y2=\"\(f(y(eval.strongQuality)))\" stroke=\"#999\" stroke-dasharray=\"6 4\"/>\n"
        let oracle = [(0.0, eval.weakQuality), (eval.oracleStrongShare, eval.oracleQuality), (1.0, eval.strongQuality)]
        s += "<polyline fill=\"none\" stroke=\"#2a9d8f\" stroke-dasharray=\"2 3\" points=\"\(oracle.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " "))\"/>\n"
        // Router curve.
        let pts = eval.curve.map { "\(f(x($0.strongShare))),\(f(y($0.quality)))" }.joined(separator: " ")
        s += "<polyline fill=\"none\" stroke=\"#e76f51\" stroke-width=\"2.5\" points=\"\(pts)\"/>\n"
        for p in eval.curve {
            s += "<circle cx=\"\(f(x(p.strongShare)))\" cy=\"\(f(y(p.quality)))\" r=\"3.5\" fill=\"#e76f51\"><title>\(String(format: "%.1f%% strong, quality %.4f, cost saved %.1f%%", p.strongShare * 100, p.quality, p.costSaved * 100))</title></circle>\n"
        }
        // Legend.
        let apgr = eval.apgr.map { String(format: "router (APGR %.3f)", $0) } ?? "router"
        let legend: [(String, String, String)] = [(apgr, "#e76f51", ""), ("random", "#999", "6 4"), ("oracle", "#2a9d8f", "2 3")]
        for (i, item) in legend.enumerated() {
            let ly = top + 14 + Double(i) * 18, lx = left + 12
            s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 24))\" y2=\"\(f(ly))\" stroke=\"\(item.1)\" stroke-width=\"2\" stroke-dasharray=\"\(item.2)\"/>\n"
            s += "<text x=\"\(f(lx + 30))\" y=\"\(f(ly + 4))\">\(esc(item.0))</text>\n"
        }
        s += "</svg>\n"
        return s
    }
}
