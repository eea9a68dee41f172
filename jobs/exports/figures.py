"""Per-variant figures (the unrolled recurrent net, the HMM trellis, the LSTM memory cell): one
small scene description drawn as SVG with drawsvg and as TikZ for the printable exam."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import drawsvg as dw
import orjson

from generators import Variant
from generators.core.symbolic import fmt_param

# -- the scene --------------------------------------------------------------------------------

Point = tuple[float, float]
INK = "#222222"
SOFT = "#8a8a8a"


@dataclass(frozen=True, slots=True)
class Circle:
    cx: float
    cy: float
    r: float
    label: str = ""
    dashed: bool = False
    fill: str = "#ffffff"


@dataclass(frozen=True, slots=True)
class Box:
    cx: float
    cy: float
    w: float
    h: float
    label: str = ""
    dashed: bool = False
    fill: str = "#ffffff"


@dataclass(frozen=True, slots=True)
class Arrow:
    """A straight arrow (two points) or a quadratic curve (start, control, end)."""

    points: tuple[Point, ...]
    color: str = INK
    dashed: bool = False
    head: bool = True


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str  # a little LaTeX: subscripts, superscripts, \text{}, Greek letters
    size: int = 12
    anchor: str = "middle"  # start | middle | end
    color: str = INK


Shape = Circle | Box | Arrow | Label


@dataclass(frozen=True, slots=True)
class Figure:
    width: float
    height: float
    title: str
    shapes: tuple[Shape, ...]


# -- geometry helpers -------------------------------------------------------------------------


def _toward(a: Point, b: Point, d: float) -> Point:
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = math.hypot(dx, dy) or 1.0
    return (a[0] + dx / n * d, a[1] + dy / n * d)


def edge(a: Point, ra: float, b: Point, rb: float, **kw: Any) -> Arrow:
    """An arrow from the border of a round node at `a` to the border of one at `b`."""
    return Arrow((_toward(a, b, ra), _toward(b, a, rb + 1)), **kw)


def _r(x: float) -> str:
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# -- labels: a few LaTeX constructs as SVG tspans ---------------------------------------------

_SYMBOLS = {
    "sigma": "σ",
    "pi": "π",
    "alpha": "α",
    "beta": "β",
    "delta": "δ",
    "times": "×",
    "cdot": "·",
    "ldots": "…",
    "otimes": "⊗",
    "odot": "⊙",
    "tanh": "tanh",
    "to": "→",
    "quad": " ",
}
_TOKEN = re.compile(
    r"\\(?:text|mathrm)\{(?P<word>[^}]*)\}"
    r"|\\(?P<name>[A-Za-z]+)"
    r"|\\(?P<char>.)"
    r"|(?P<op>[_^])(?P<arg>\{(?:[^{}]|\{[^{}]*\})*\}|.)"
    r"|(?P<plain>[^\\_^]+)"
)


def _segments(text: str) -> list[tuple[str, int]]:
    """(text, level) pieces: level -1 subscript, 0 base, 1 superscript."""
    out: list[tuple[str, int]] = []
    for m in _TOKEN.finditer(text):
        if m.group("word") is not None:
            out.append((m.group("word"), 0))
        elif m.group("name"):
            out.append((_SYMBOLS.get(m.group("name"), m.group("name")), 0))
        elif m.group("char"):
            out.append((" " if m.group("char") in " ,;" else m.group("char"), 0))
        elif m.group("op"):
            body = m.group("arg")
            body = body[1:-1] if body.startswith("{") else body
            level = -1 if m.group("op") == "_" else 1
            out.extend((t, level) for t, _ in _segments(body))
        elif m.group("plain"):
            out.append((m.group("plain"), 0))
    return out


_HYPHEN = re.compile(r"-(?=[0-9.])")


def _minus(text: str) -> str:
    """A typeset minus sign (U+2212) where a hyphen starts a number: -0.7, t-1."""
    return _HYPHEN.sub("\u2212", text)


def _svg_text(lab: Label) -> dw.Text:
    t = dw.Text(
        "", lab.size, _r(lab.x), _r(lab.y), text_anchor=lab.anchor, fill=lab.color, center=False
    )
    level = 0
    for raw, lv in _segments(lab.text):
        piece = _minus(raw)
        shift = (lv - level) * round(lab.size * 0.35)
        kw: dict[str, Any] = {}
        if shift:
            kw["dy"] = -shift
        if lv:
            kw["font_size"] = round(lab.size * 0.72)
        t.append(dw.TSpan(piece, **kw))
        level = lv
    return t


def _head(tip: Point, back: Point, color: str) -> dw.Lines:
    dx, dy = tip[0] - back[0], tip[1] - back[1]
    n = math.hypot(dx, dy) or 1.0
    ux, uy = dx / n, dy / n
    bx, by = tip[0] - 8 * ux, tip[1] - 8 * uy
    return dw.Lines(
        _r(tip[0]),
        _r(tip[1]),
        _r(bx - 3.5 * uy),
        _r(by + 3.5 * ux),
        _r(bx + 3.5 * uy),
        _r(by - 3.5 * ux),
        close=True,
        fill=color,
        stroke="none",
    )


def to_svg(fig: Figure) -> str:
    """The figure as an inline `<svg>` element (no XML declaration), scalable by its viewBox."""
    d = dw.Drawing(
        _r(fig.width),
        _r(fig.height),
        role="img",
        aria_label=fig.title,
        font_family="DejaVu Serif, Times New Roman, serif",
    )
    d.append(dw.Title(fig.title))
    for s in fig.shapes:
        if isinstance(s, Circle):
            d.append(
                dw.Circle(
                    _r(s.cx),
                    _r(s.cy),
                    _r(s.r),
                    fill=s.fill,
                    stroke=INK,
                    stroke_width=1.4,
                    **({"stroke_dasharray": "4 3"} if s.dashed else {}),
                )
            )
            if s.label:
                d.append(_svg_text(Label(s.cx, s.cy + 4.5, s.label, 13)))
        elif isinstance(s, Box):
            d.append(
                dw.Rectangle(
                    _r(s.cx - s.w / 2),
                    _r(s.cy - s.h / 2),
                    _r(s.w),
                    _r(s.h),
                    rx=4,
                    fill=s.fill,
                    stroke=INK,
                    stroke_width=1.4,
                    **({"stroke_dasharray": "4 3"} if s.dashed else {}),
                )
            )
            if s.label:
                d.append(_svg_text(Label(s.cx, s.cy + 4.5, s.label, 13)))
        elif isinstance(s, Arrow):
            p = s.points
            dash = {"stroke_dasharray": "4 3"} if s.dashed else {}
            if len(p) == 2:
                end = _toward(p[1], p[0], 6) if s.head else p[1]
                path = f"M{_r(p[0][0])},{_r(p[0][1])} L{_r(end[0])},{_r(end[1])}"
            else:
                end = _toward(p[2], p[1], 6) if s.head else p[2]
                path = (
                    f"M{_r(p[0][0])},{_r(p[0][1])} Q{_r(p[1][0])},{_r(p[1][1])} "
                    f"{_r(end[0])},{_r(end[1])}"
                )
            d.append(dw.Path(d=path, fill="none", stroke=s.color, stroke_width=1.3, **dash))
            if s.head:
                d.append(_head(p[-1], p[-2], s.color))
        else:
            d.append(_svg_text(s))
    svg = d.as_svg()
    return svg[svg.index("<svg") :].replace("<defs>\n</defs>\n", "")


# -- TikZ -------------------------------------------------------------------------------------

_TIKZ_SIZE = {13: r"\small", 12: r"\small", 11: r"\footnotesize", 10: r"\scriptsize"}
_TIKZ_ANCHOR = {"start": "base west", "middle": "base", "end": "base east"}
MAX_WIDTH_CM = 16.0


def _tikz_color(c: str) -> str:
    return "black" if c == INK else "black!50"


def _tikz_label(text: str) -> str:
    return f"${text}$"


def to_tikz(fig: Figure) -> str:
    """The figure as a `tikzpicture` in the SVG's coordinates (y grows downwards)."""
    unit = min(0.02, MAX_WIDTH_CM / fig.width)
    out = [
        rf"\begin{{tikzpicture}}[x={unit:.4f}cm,y=-{unit:.4f}cm,line width=0.6pt,"
        r">=stealth]"
    ]

    def pt(p: Point) -> str:
        return f"({_r(p[0])},{_r(p[1])})"

    for s in fig.shapes:
        if isinstance(s, Circle):
            style = "dashed," if s.dashed else ""
            out.append(rf"\draw[{style}fill=white] {pt((s.cx, s.cy))} circle ({s.r * unit:.3f}cm);")
            if s.label:
                out.append(rf"\node at {pt((s.cx, s.cy))} {{\small {_tikz_label(s.label)}}};")
        elif isinstance(s, Box):
            style = "dashed," if s.dashed else ""
            a = (s.cx - s.w / 2, s.cy - s.h / 2)
            b = (s.cx + s.w / 2, s.cy + s.h / 2)
            out.append(rf"\draw[{style}rounded corners=1pt,fill=white] {pt(a)} rectangle {pt(b)};")
            if s.label:
                out.append(rf"\node at {pt((s.cx, s.cy))} {{\small {_tikz_label(s.label)}}};")
        elif isinstance(s, Arrow):
            style = ",".join(
                x
                for x in (
                    "->" if s.head else "",
                    "dashed" if s.dashed else "",
                    _tikz_color(s.color),
                )
                if x
            )
            p = s.points
            if len(p) == 2:
                out.append(rf"\draw[{style}] {pt(p[0])} -- {pt(p[1])};")
            else:
                c1 = (p[0][0] + 2 / 3 * (p[1][0] - p[0][0]), p[0][1] + 2 / 3 * (p[1][1] - p[0][1]))
                c2 = (p[2][0] + 2 / 3 * (p[1][0] - p[2][0]), p[2][1] + 2 / 3 * (p[1][1] - p[2][1]))
                out.append(
                    rf"\draw[{style}] {pt(p[0])} .. controls {pt(c1)} and {pt(c2)} .. {pt(p[2])};"
                )
        else:
            size = _TIKZ_SIZE.get(s.size, r"\small")
            out.append(
                rf"\node[anchor={_TIKZ_ANCHOR[s.anchor]},text={_tikz_color(s.color)}] at "
                rf"{pt((s.x, s.y))} {{{size} {_tikz_label(s.text)}}};"
            )
    out.append(r"\end{tikzpicture}")
    return "\n".join(out)


# -- the figures ------------------------------------------------------------------------------


class Slot(float):
    """A number that a figure shows as a placeholder: a figure is laid out and drawn once per
    shape of params (lengths, activation, which keys) and each variant's numbers are filled in,
    as the solutions' formulas are compiled once per shape."""

    index: int

    def __new__(cls, index: int) -> Slot:
        obj = super().__new__(cls, 0.0)
        obj.index = index
        return obj


def _n(v: Any) -> str:
    if isinstance(v, Slot):
        return f"@{v.index}@"
    return fmt_param(float(v))


def rnn_figure(p: Mapping[str, Any]) -> Figure:
    """The unrolled scalar recurrent net: input, hidden and output unit per step, every
    connection labelled with its (tied) weight, as the course quiz draws it."""
    x = list(p["x"])
    T = len(x)
    outputs = [T - 1] if "target" in p else list(range(T))
    dx, left, r = 150.0, 170.0, 21.0
    yy = 70.0 if ("targets" in p or "target" in p) else 45.0  # room for the target labels
    yh, yx = yy + 105, yy + 210
    cols = [left + 70 + t * dx for t in range(T)]
    width = cols[-1] + 90
    shapes: list[Shape] = []
    act = {"logistic": r"\sigma", "tanh": r"\tanh", "linear": r"\text{linear}"}.get(
        p.get("activation", "logistic"), r"\sigma"
    )
    h0 = (left - 80, yh)
    shapes.append(Box(h0[0], h0[1], 66, 34, r"h_{\text{init}}", dashed=True))
    shapes.append(Label(h0[0], yh + 36, f"= {_n(p.get('h_init', 0.0))}", 11))
    prev, prev_r = (h0[0] + 33, yh), 0.0
    for t, cx in enumerate(cols):
        shapes.append(Circle(cx, yx, r, f"x_{{{t}}}"))
        shapes.append(Label(cx, yx + r + 17, f"= {_n(x[t])}", 11))
        shapes.append(Circle(cx, yh, r, f"h_{{{t}}}", fill="#eef3fb"))
        shapes.append(edge((cx, yx), r, (cx, yh), r))
        shapes.append(Label(cx + 7, (yx + yh) / 2 + 4, rf"w_{{xh}} = {_n(p['w_xh'])}", 11, "start"))
        shapes.append(edge(prev, prev_r, (cx, yh), r))
        mid = ((prev[0] + prev_r + cx - r) / 2, yh - 9)
        shapes.append(Label(mid[0], mid[1], rf"w_{{hh}} = {_n(p['w_hh'])}", 11))
        if t in outputs:
            shapes.append(Circle(cx, yy, r, f"y_{{{t}}}"))
            shapes.append(edge((cx, yh), r, (cx, yy), r))
            shapes.append(
                Label(cx + 7, (yh + yy) / 2 + 4, rf"w_{{hy}} = {_n(p['w_hy'])}", 11, "start")
            )
            if "targets" in p:
                shapes.append(Label(cx, yy - r - 9, rf"t_{{{t}}} = {_n(p['targets'][t])}", 11))
            elif "target" in p:
                shapes.append(Label(cx, yy - r - 9, rf"\text{{target}} = {_n(p['target'])}", 11))
        prev, prev_r = (cx, yh), r
    legend = (
        rf"\text{{hidden: }} h_{{t}} = {act}(z_{{t}}),\ b_{{h}} = {_n(p.get('b_h', 0.0))}"
        rf"\quad \text{{output: linear}},\ b_{{y}} = {_n(p.get('b_y', 0.0))}"
    )
    shapes.append(Label(20, yx + 72, legend, 11, "start", SOFT))
    return Figure(width, yx + 85, f"Unrolled recurrent net over {T} time steps", tuple(shapes))


def hmm_figure(p: Mapping[str, Any]) -> Figure:
    """The trellis: one column of states per time step, every transition, the observations."""
    obs = list(p["obs"])
    n = len(p["pi"])
    T = len(obs)
    dx, dy, r, top, left = 120.0, 64.0, 18.0, 64.0, 110.0
    cols = [left + t * dx for t in range(T)]
    rows = [top + i * dy for i in range(n)]
    shapes: list[Shape] = []
    for t, cx in enumerate(cols):
        shapes.append(Label(cx, top - 34, f"t = {t}", 12))
        if t + 1 < T:
            for ya in rows:
                for yb in rows:
                    shapes.append(edge((cx, ya), r, (cols[t + 1], yb), r, color=SOFT))
        for i, cy in enumerate(rows):
            shapes.append(Circle(cx, cy, r, f"s_{{{i}}}", fill="#eef3fb"))
        shapes.append(Label(cx, rows[-1] + r + 30, f"o_{{{t}}} = {_n(obs[t])}", 12))
    for i, cy in enumerate(rows):
        shapes.append(
            Label(cols[0] - r - 10, cy + 4, rf"\pi_{{{i}}} = {_n(p['pi'][i])}", 11, "end")
        )
    width = cols[-1] + 60
    height = rows[-1] + r + 48
    return Figure(width, height, f"HMM trellis: {n} states over {T} time steps", tuple(shapes))


def memory_cell_figure(p: Mapping[str, Any]) -> Figure:
    """Hinton's memory cell unrolled in time: keep gate on the self-link, write gate on the
    input, read gate on the output, with every gate value."""
    inputs = list(p["inputs"])
    T = len(inputs)
    dx, left = 170.0, 190.0
    y_out, y_read, y_cell, y_write, y_in = 40.0, 100.0, 175.0, 250.0, 310.0
    cols = [left + 60 + t * dx for t in range(T)]
    shapes: list[Shape] = []
    c0 = (left - 80, y_cell)
    shapes.append(Box(c0[0], c0[1], 66, 36, r"c_{\text{init}}", dashed=True))
    shapes.append(Label(c0[0], y_cell + 36, f"= {_n(p.get('c_init', 0.0))}", 11))
    prev = (c0[0] + 33, y_cell)
    for t, cx in enumerate(cols):
        gate_keep = ((prev[0] + cx - 30) / 2, y_cell)
        shapes.append(Arrow((prev, (gate_keep[0] - 11, y_cell)), head=False))
        shapes.append(Circle(gate_keep[0], gate_keep[1], 11, r"\times"))
        shapes.append(Label(gate_keep[0], y_cell - 18, rf"\text{{keep}} = {_n(p['keep'][t])}", 11))
        shapes.append(Arrow(((gate_keep[0] + 11, y_cell), (cx - 30, y_cell))))
        shapes.append(Box(cx, y_cell, 60, 40, f"c_{{{t}}}", fill="#eef3fb"))
        shapes.append(Box(cx, y_in, 60, 28, f"x_{{{t}}}"))  # the stem's name of the input
        shapes.append(Label(cx, y_in + 30, f"= {_n(inputs[t])}", 11))
        shapes.append(Arrow(((cx, y_in - 14), (cx, y_write + 11)), head=False))
        shapes.append(Circle(cx, y_write, 11, r"\times"))
        shapes.append(
            Label(cx + 16, y_write + 4, rf"\text{{write}} = {_n(p['write'][t])}", 11, "start")
        )
        shapes.append(Arrow(((cx, y_write - 11), (cx, y_cell + 20))))
        shapes.append(Arrow(((cx, y_cell - 20), (cx, y_read + 11)), head=False))
        shapes.append(Circle(cx, y_read, 11, r"\times"))
        shapes.append(
            Label(cx + 16, y_read + 4, rf"\text{{read}} = {_n(p['read'][t])}", 11, "start")
        )
        shapes.append(Arrow(((cx, y_read - 11), (cx, y_out + 12))))
        shapes.append(Label(cx, y_out + 4, rf"\text{{out}}_{{{t}}}", 12))
        prev = (cx + 30, y_cell)
    return Figure(cols[-1] + 110, 350, f"Memory cell unrolled over {T} time steps", tuple(shapes))


def lstm_figure(p: Mapping[str, Any]) -> Figure:
    """One step of the standard LSTM with scalar input and state, each gate with its weights."""
    w = p["w"]
    shapes: list[Shape] = []
    y_c, y_mul, y_gate, y_in = 60.0, 130.0, 215.0, 300.0
    xs = {"f": 120.0, "i": 250.0, "g": 370.0, "o": 520.0}
    acts = {"f": r"\sigma", "i": r"\sigma", "g": r"\tanh", "o": r"\sigma"}
    # the cell line c_{t-1} -> (x f) -> (+) -> c_t
    shapes.append(Label(28, y_c + 4, r"c_{t-1}", 13, "start"))
    shapes.append(Arrow(((70, y_c), (xs["f"] - 12, y_c))))
    shapes.append(Circle(xs["f"], y_c, 12, r"\times"))
    shapes.append(Arrow(((xs["f"] + 12, y_c), (310 - 12, y_c))))
    shapes.append(Circle(310, y_c, 12, "+"))
    shapes.append(Arrow(((322, y_c), (640, y_c))))
    shapes.append(Label(648, y_c + 4, "c_{t}", 13, "start"))
    # input gate times candidate into (+)
    shapes.append(Circle(310, y_mul, 12, r"\times"))
    shapes.append(Arrow(((310, y_mul - 12), (310, y_c + 12))))
    # output: tanh(c_t) times o -> h_t
    shapes.append(Box(xs["o"] + 60, y_c + 55, 44, 24, r"\tanh"))
    shapes.append(Arrow(((xs["o"] + 60, y_c), (xs["o"] + 60, y_c + 43))))
    shapes.append(Circle(xs["o"] + 60, y_mul + 25, 12, r"\times"))
    shapes.append(Arrow(((xs["o"] + 60, y_c + 67), (xs["o"] + 60, y_mul + 13))))
    shapes.append(Arrow(((xs["o"] + 72, y_mul + 25), (640, y_mul + 25))))
    shapes.append(Label(648, y_mul + 29, "h_{t}", 13, "start"))
    for g, gx in xs.items():
        wx, wh, b = w[g]
        shapes.append(Box(gx, y_gate, 74, 30, f"{g}_{{t}}: {acts[g]}", fill="#eef3fb"))
        shapes.append(
            Label(gx, y_gate + 32, rf"({_n(wx)},\ {_n(wh)},\ {_n(b)})", 10, "middle", SOFT)
        )
        shapes.append(Arrow(((gx, y_in - 12), (gx, y_gate + 42)), color=SOFT))
    shapes.append(Arrow(((xs["f"], y_gate - 15), (xs["f"], y_c + 12))))
    shapes.append(Arrow(((xs["i"], y_gate - 15), (298, y_mul + 4))))
    shapes.append(Arrow(((xs["g"], y_gate - 15), (322, y_mul + 4))))
    shapes.append(Arrow(((xs["o"], y_gate - 15), (xs["o"] + 48, y_mul + 25))))
    shapes.append(
        Label(
            330,
            y_in + 4,
            r"\text{inputs } x_{t},\ h_{t-1},\ 1 \text{ with weights } (w_{x}, w_{h}, b)",
            11,
        )
    )
    return Figure(700, 320, "One step of an LSTM cell with its gate weights", tuple(shapes))


# -- dispatch ---------------------------------------------------------------------------------

Builder = Callable[[Mapping[str, Any]], Figure]


def _has(p: Mapping[str, Any], *keys: str) -> bool:
    return all(k in p for k in keys)


def _is_lstm(p: Mapping[str, Any]) -> bool:
    w = p.get("w")
    return "x" in p and isinstance(w, Mapping) and all(g in w for g in "ifgo")


# Chosen by the variant's params, so that a new template of a known family gets its figure
# without touching this file; the first match wins.
FIGURES: tuple[tuple[str, Callable[[str, Mapping[str, Any]], bool], Builder], ...] = (
    ("rnn", lambda t, p: _has(p, "x", "w_xh", "w_hh", "w_hy"), rnn_figure),
    ("hmm-trellis", lambda t, p: _has(p, "pi", "A", "B", "obs"), hmm_figure),
    ("memory-cell", lambda t, p: _has(p, "inputs", "keep", "write", "read"), memory_cell_figure),
    ("lstm", lambda t, p: _is_lstm(p), lstm_figure),
)


def figure_for(template: str, params: Mapping[str, Any]) -> Figure | None:
    for _name, matches, build in FIGURES:
        if matches(template, params):
            return build(params)
    return None


def _slotted(params: Any, values: list[Any]) -> Any:
    """The params with every number replaced by a Slot (collected in `values`, in order)."""
    if isinstance(params, bool) or params is None or isinstance(params, str):
        return params
    if isinstance(params, int | float):
        values.append(params)
        return Slot(len(values) - 1)
    if isinstance(params, list | tuple):
        return [_slotted(x, values) for x in params]
    if isinstance(params, Mapping):
        return {k: _slotted(params[k], values) for k in sorted(params)}
    return params


_FILL = re.compile(r"@(\d+)@")
_LAYOUTS: dict[tuple[str, bytes], tuple[str, str] | None] = {}


def _layout(template: str, skeleton: Mapping[str, Any], signature: bytes) -> tuple[str, str] | None:
    key = (template, signature)
    if key not in _LAYOUTS:
        fig = figure_for(template, skeleton)
        _LAYOUTS[key] = None if fig is None else (to_svg(fig), to_tikz(fig))
    return _LAYOUTS[key]


@lru_cache(maxsize=4096)
def _cached(template: str, key: bytes) -> tuple[str, str] | None:
    params = orjson.loads(key)
    values: list[Any] = []
    skeleton = _slotted(params, values)
    texts = [fmt_param(float(x)) for x in values]
    if any("\\" in t or "{" in t for t in texts):  # 1.2 \times 10^{-5}: drawn as it is
        fig = figure_for(template, params)
        return None if fig is None else (to_svg(fig), to_tikz(fig))
    signature = orjson.dumps(_slotted(params, []), default=lambda _x: 0)
    layout = _layout(template, skeleton, signature)
    if layout is None:
        return None
    svg = _FILL.sub(lambda m: _minus(texts[int(m.group(1))]), layout[0])
    tikz = _FILL.sub(lambda m: texts[int(m.group(1))], layout[1])
    return svg, tikz


def _key(v: Variant) -> bytes:
    # Which parts are asked is not drawn; leaving it out lets variants share a layout.
    drawn = {k: x for k, x in v.params.items() if k != "ask"}
    return orjson.dumps(drawn, option=orjson.OPT_SORT_KEYS)


def svg_for(v: Variant) -> str | None:
    """The variant's figure as SVG, or None when its family has none (cached: every format of
    a set draws the same figures)."""
    out = _cached(v.template, _key(v))
    return out[0] if out else None


def tikz_for(v: Variant) -> str | None:
    out = _cached(v.template, _key(v))
    return out[1] if out else None


def figure_names(variants: Sequence[Variant]) -> list[str]:
    """Which figure each variant gets (for tests and docs)."""
    out = []
    for v in variants:
        name = next((n for n, m, _ in FIGURES if m(v.template, v.params)), "")
        out.append(name)
    return out
