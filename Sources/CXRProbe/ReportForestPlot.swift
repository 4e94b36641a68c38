import Foundation

/// The report's interval chart: per edit, the effect of the finding and its null control (the null edit's own
/// shift, sensitivity to re-synthesis), each with its image-level 95% interval, on one axis around zero.
///
/// Why a chart beside the table: an effect is only meaningful next to what re-synthesis alone moves and to its
/// interval; drawn on one axis, an effect whose interval crosses zero, or that is smaller than its null shift, is
/// seen at a glance. It replaces nothing: with a single strength the effect-vs-strength curve has one point per
/// edit and shows no interval at all.
extension ReportHTML {
    static func forestPlot(_ stats: [EditStats]) -> String {
        let series = stats.filter { $0.effect != nil || $0.sensitivity != nil }
        guard !series.isEmpty else {
            return "<p class=\"muted\">No edit has a target label this classifier scores.</p>\n"
        }
        let labelWidth = 210, plotWidth = 420, valueWidth = 250, top = 46, rowHeight = 18, editGap = 10
        let editHeight = 2 * rowHeight + editGap
        let width = labelWidth + plotWidth + valueWidth, height = top + editHeight * series.count + 30
        let bounds = series.flatMap { [$0.effect, $0.sensitivity].compactMap { $0 }.flatMap { [$0.low, $0.high] } }
        var lo = min(bounds.min() ?? -0.1, 0), hi = max(bounds.max() ?? 0.1, 0)
        let pad = max((hi - lo) * 0.05, 0.005)
        lo -= pad; hi += pad
        func px(_ v: Double) -> Double { Double(labelWidth) + (v - lo) / (hi - lo) * Double(plotWidth) }
        let bottom = height - 30
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"effect and null control with 95% intervals\" class=\"forest\">\n"
        s +=
            "<rect x=\"\(labelWidth)\" y=\"\(top - 8)\" width=\"\(plotWidth)\" height=\"\(bottom - top + 8)\" fill=\"#fafbfc\" stroke=\"#d0d7de\"/>\n"
        for k in 0...4 {
            let v = lo + (hi - lo) * Double(k) / 4
            s += String(
                format: "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%+.3f</text>\n", px(v),
                bottom + 14, v)
        }
        s += String(
            format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n",
            px(0), px(0), top - 8, bottom)
        s +=
            "<text x=\"\(labelWidth + plotWidth + 8)\" y=\"\(top - 14)\" font-size=\"11\" font-weight=\"bold\">mean [95% CI over images]</text>\n"
        s += legend(x: labelWidth, y: 16)
        for (i, e) in series.enumerated() {
            let y0 = top + i * editHeight
            s +=
                "<text x=\"\(labelWidth - 8)\" y=\"\(y0 + rowHeight - 4)\" font-size=\"11\" text-anchor=\"end\">\(esc(e.edit))</text>\n"
            s +=
                "<text x=\"\(labelWidth - 8)\" y=\"\(y0 + 2 * rowHeight - 5)\" font-size=\"10\" text-anchor=\"end\" fill=\"#57606a\">\(e.images) images, n=\(e.n)</text>\n"
            s += whisker(e.effect, y: y0 + rowHeight / 2, kind: "effect", colour: "#0b4fa0", px: px)
            s += whisker(e.sensitivity, y: y0 + rowHeight + rowHeight / 2, kind: "null", colour: "#8c959f", px: px)
            s +=
                "<text x=\"\(labelWidth + plotWidth + 8)\" y=\"\(y0 + rowHeight - 4)\" font-size=\"11\"><tspan font-weight=\"bold\">effect</tspan> \(est(e.effect))</text>\n"
            s +=
                "<text x=\"\(labelWidth + plotWidth + 8)\" y=\"\(y0 + 2 * rowHeight - 5)\" font-size=\"11\" fill=\"#57606a\">null \(est(e.sensitivity))</text>\n"
        }
        s +=
            "<text x=\"\(labelWidth + plotWidth / 2)\" y=\"\(height - 2)\" font-size=\"11\" text-anchor=\"middle\">change in the target label's probability</text>\n"
        return s + "</svg>\n"
    }

    /// One estimate: its interval as a line with end ticks, its mean as a marker (filled for the effect, hollow for
    /// the null control, so the chart reads without colour).
    private static func whisker(
        _ e: Estimate?, y: Int, kind: String, colour: String, px: (Double) -> Double
    ) -> String {
        guard let e else { return "" }
        let (a, b, m) = (px(e.low), px(e.high), px(e.mean))
        var s = String(
            format:
                "<g class=\"%@\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"%@\" stroke-width=\"2\"/>",
            kind, a, b, y, y, colour)
        for x in [a, b] {
            s += String(
                format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"%@\" stroke-width=\"2\"/>", x, x,
                y - 4, y + 4, colour)
        }
        let fill = kind == "effect" ? colour : "#fff"
        s += String(
            format: "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"%@\" stroke=\"%@\" stroke-width=\"2\">", m, y, fill,
            colour)
        s += "<title>\(kind == "effect" ? "effect" : "null control"): \(est(e))</title></circle></g>\n"
        return s
    }

    private static func legend(x: Int, y: Int) -> String {
        "<circle cx=\"\(x + 6)\" cy=\"\(y - 4)\" r=\"4\" fill=\"#0b4fa0\"/><text x=\"\(x + 14)\" y=\"\(y)\" font-size=\"11\">effect = p(edit) &minus; p(null edit)</text>"
            + "<circle cx=\"\(x + 216)\" cy=\"\(y - 4)\" r=\"4\" fill=\"#fff\" stroke=\"#8c959f\" stroke-width=\"2\"/><text x=\"\(x + 224)\" y=\"\(y)\" font-size=\"11\">null control = p(null edit) &minus; p(input)</text>\n"
    }
}
