"""The instructor's figure: per part, how many answers were correct, incorrect and invalid, and
how often each misconception was made, as horizontal SVG bars (no script, no library)."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence

COLORS = {"correct": "#2e7d32", "incorrect": "#c62828", "invalid": "#6d6d6d"}
MISCONCEPTION = "#8e5a00"
ROW = 26
LABEL_W = 260
BAR_W = 360


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def bar_chart(
    parts: Sequence[tuple[str, Counter[str]]], misconceptions: Counter[str], title: str
) -> str:
    """`parts`: (part id, counts of correct/incorrect/invalid); `misconceptions`: code -> count."""
    rows: list[tuple[str, list[tuple[str, int, str]]]] = []
    for pid, counts in parts:
        rows.append((f"part {pid}", [(s, counts.get(s, 0), COLORS[s]) for s in COLORS]))
    for code, n in misconceptions.most_common():
        rows.append((code, [("misconception", n, MISCONCEPTION)]))
    top = max([sum(n for _, n, _ in segs) for _, segs in rows] + [1])
    height = ROW * (len(rows) + 2) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title" '
        f'viewBox="0 0 {LABEL_W + BAR_W + 60} {height}" width="{LABEL_W + BAR_W + 60}" '
        f'height="{height}" font-family="sans-serif" font-size="13">',
        f'<title id="chart-title">{_e(title)}</title>',
    ]
    y = 10
    for label, segs in rows:
        out.append(
            f'<text x="{LABEL_W - 8}" y="{y + 16}" text-anchor="end" fill="#1d2430">{_e(label)}</text>'
        )
        x = float(LABEL_W)
        for name, n, color in segs:
            if n == 0:
                continue
            w = BAR_W * n / top
            out.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{ROW - 8}" fill="{color}"'
                f' data-series="{_e(name)}" data-count="{n}"><title>{_e(label)}: {n} {_e(name)}'
                "</title></rect>"
            )
            x += w
        total = sum(n for _, n, _ in segs)
        out.append(f'<text x="{x + 6:.1f}" y="{y + 16}" fill="#1d2430">{total}</text>')
        y += ROW
    lx = LABEL_W
    for name, color in [*COLORS.items(), ("misconception", MISCONCEPTION)]:
        out.append(f'<rect x="{lx}" y="{y + 10}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{lx + 16}" y="{y + 21}" fill="#1d2430">{name}</text>')
        lx += 100
    out.append("</svg>")
    return "".join(out)
