"""A small line chart rendered as SVG on the server: no script, no CDN, readable without colour.

Used by the compliance report for completions by region per month. Every
label is escaped; the chart carries a <title> and <desc>, and the page shows
the same figures in a table for screen readers.
"""

from markupsafe import escape

# Distinguishable for common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")
MARKERS = ("circle", "square", "diamond", "triangle", "circle", "square", "diamond")
MAX_SERIES = len(PALETTE)
WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 150, 20, 40


def top_series(series, limit=MAX_SERIES):
    """Keep the ``limit - 1`` largest series and sum the rest into "other"."""
    ranked = sorted(series.items(), key=lambda item: (-sum(item[1]), item[0]))
    if len(ranked) <= limit:
        return dict(ranked)
    kept = dict(ranked[: limit - 1])
    rest = [values for _, values in ranked[limit - 1 :]]
    kept["other"] = [sum(column) for column in zip(*rest, strict=True)]
    return kept


def _nice_max(value):
    """A round axis maximum at or above ``value``, a multiple of 4 so the 4 grid steps are whole numbers."""
    scale = 1
    while True:
        for m in (4, 8, 12, 20):
            if m * scale >= value:
                return m * scale
        scale *= 10


def _marker(kind, x, y, color):
    if kind == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{color}"/>'
    if kind == "diamond":
        return f'<path d="M{x:.1f} {y - 4.5:.1f} L{x + 4.5:.1f} {y:.1f} L{x:.1f} {y + 4.5:.1f} L{x - 4.5:.1f} {y:.1f} Z" fill="{color}"/>'
    if kind == "triangle":
        return f'<path d="M{x:.1f} {y - 4.5:.1f} L{x + 4.5:.1f} {y + 3.5:.1f} L{x - 4.5:.1f} {y + 3.5:.1f} Z" fill="{color}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>'


def line_chart(labels, series, title, description):
    """SVG markup: one line per series over ``labels`` (x), counts on y."""
    series = top_series(series)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = _nice_max(max((max(v) for v in series.values()), default=0))
    step_x = plot_w / max(1, len(labels) - 1)

    def x_at(i):
        return LEFT + i * step_x

    def y_at(v):
        return TOP + plot_h - v / peak * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
    ]
    for k in range(5):
        value = peak * k / 4
        y = y_at(value)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{value:g}</text>')
    for i, label in enumerate(labels):
        out.append(
            f'<text x="{x_at(i):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" font-size="11">'
            f"{escape(label[2:] if len(label) == 7 else label)}</text>"
        )
    if not series:
        out.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            'font-size="13">No completions in these months</text>'
        )
    for n, (name, values) in enumerate(series.items()):
        color, marker = PALETTE[n % len(PALETTE)], MARKERS[n % len(MARKERS)]
        points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        out.extend(_marker(marker, x_at(i), y_at(v), color) for i, v in enumerate(values))
        ly = TOP + 14 + n * 20
        out.append(_marker(marker, LEFT + plot_w + 20, ly - 4, color))
        out.append(f'<text x="{LEFT + plot_w + 30}" y="{ly}" font-size="12">{escape(name)} ({sum(values)})</text>')
    out.append("</svg>")
    return "\n".join(out)
