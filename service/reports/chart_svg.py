"""A small stacked bar chart rendered as SVG on the server: no script, no CDN, readable without colour.

Used by the compliance report for the trainings owed by region or department, one
bar per group split into compliant, due, overdue and expired. Every label is
escaped; each segment carries its figure as text when it is wide enough and a
pattern besides its colour; the chart has a <title> and <desc>, and the page shows
the same figures in a table for screen readers.
"""

from markupsafe import escape

# The chart's standings, in bar order, from the report's statuses (service.reports.compliance).
STANDINGS = (
    ("compliant", "Compliant", ("completed",)),
    ("due", "Due", ("assigned", "in_progress")),
    ("overdue", "Overdue", ("overdue",)),
    ("expired", "Expired", ("expired",)),
)
# Okabe-Ito: distinguishable for common colour-vision deficiencies; hatching tells the late ones apart in grey.
COLORS = {"compliant": "#009E73", "due": "#56B4E9", "overdue": "#D55E00", "expired": "#CC79A7"}
HATCHED = ("overdue", "expired")
MAX_BARS = 12
WIDTH, LEFT, RIGHT, TOP, BAR, GAP = 760, 170, 20, 40, 20, 8


def by_standing(rows, key, limit=MAX_BARS):
    """``[(group, {standing: count})]`` from the report's count rows keyed by ``key`` (region,
    department), the largest ``limit - 1`` groups and the rest summed into "Other"."""
    groups = [(row[key], {name: sum(row[s] for s in statuses) for name, _, statuses in STANDINGS}) for row in rows]
    groups.sort(key=lambda g: (-sum(g[1].values()), str(g[0])))
    if len(groups) <= limit:
        return groups
    rest = groups[limit - 1 :]
    other = {name: sum(counts[name] for _, counts in rest) for name, _, _ in STANDINGS}
    return [*groups[: limit - 1], ("Other", other)]


def stacked_bars(groups, title, description):
    """SVG markup: one horizontal bar per group, its segments the standings' counts."""
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + max(1, len(groups)) * (BAR + GAP) + 10
    peak = max((sum(c.values()) for _, c in groups), default=0) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-title chart-desc" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>',
    ]
    x = LEFT
    for name, label, _ in STANDINGS:  # the legend, above the bars
        out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{COLORS[name]}"/>')
        if name in HATCHED:
            out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="url(#hatch)"/>')
        out.append(f'<text x="{x + 16}" y="18" font-size="12">{label}</text>')
        x += 110
    if not groups:
        out.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + 14}" text-anchor="middle" font-size="13">No trainings owed</text>'
        )
    for i, (group, counts) in enumerate(groups):
        y = TOP + i * (BAR + GAP)
        out.append(
            f'<text x="{LEFT - 8}" y="{y + BAR - 6}" text-anchor="end" font-size="12">'
            f"{escape(str(group)[:24])} ({sum(counts.values())})</text>"
        )
        x = LEFT
        for name, _, _ in STANDINGS:
            width = counts[name] / peak * plot_w
            if not width:
                continue
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{COLORS[name]}"/>')
            if name in HATCHED:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" fill="url(#hatch)"/>')
            if width >= 8 * len(str(counts[name])) + 6:
                out.append(
                    f'<text x="{x + width / 2:.1f}" y="{y + BAR - 6}" text-anchor="middle" font-size="11" '
                    f'fill="#000">{counts[name]}</text>'
                )
            x += width
    out.append("</svg>")
    return "\n".join(out)
