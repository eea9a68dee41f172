"""The small Markdown-with-LaTeX that stems and solutions are written in, turned into HTML (math
left as LaTeX for an LMS, or as MathML for offline pages) and into LaTeX source."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# -- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """One inline piece: text, math, display math, code, strong or emphasis (with children)."""

    kind: str
    text: str = ""
    children: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph (`spans`), a bullet list (`items`) or a table (`rows` of cells)."""

    kind: str
    spans: tuple[Span, ...] = ()
    items: tuple[tuple[Span, ...], ...] = ()
    rows: tuple[tuple[tuple[Span, ...], ...], ...] = ()


_INLINE = re.compile(
    r"\$\$(?P<display>.+?)\$\$"
    r"|\$(?P<math>(?:\\\$|[^$])+?)\$"
    r"|`(?P<code>[^`]+)`"
    r"|\*\*(?P<strong>.+?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*]*[^*\s])?)\*(?![\w*])",
    re.S,
)
_BULLET = re.compile(r"^\s*[-*] +")
_HEADING = re.compile(r"^#{1,6} +")


def inline(text: str) -> tuple[Span, ...]:
    out: list[Span] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append(Span("text", text[pos : m.start()]))
        kind = m.lastgroup or "text"
        body = m.group(kind)
        if kind in ("strong", "em"):
            out.append(Span(kind, children=inline(body)))
        else:
            out.append(Span(kind, body.strip() if kind in ("display", "math") else body))
        pos = m.end()
    if pos < len(text):
        out.append(Span("text", text[pos:]))
    return tuple(out)


@lru_cache(maxsize=4096)
def parse(markdown: str) -> tuple[Block, ...]:
    """Blocks separated by blank lines; a block of `- ` lines is a list, of `|` lines a table.
    Display math may span lines, so blank lines inside `$$...$$` do not split a block."""
    blocks: list[Block] = []
    for raw in _split_blocks(markdown):
        lines = raw.split("\n")
        if all(_BULLET.match(ln) for ln in lines):
            blocks.append(Block("list", items=tuple(inline(_BULLET.sub("", ln)) for ln in lines)))
        elif all(ln.lstrip().startswith("|") for ln in lines):
            rows = []
            for ln in lines:
                cells = ln.strip().strip("|").split("|")
                if all(re.fullmatch(r"\s*:?-{2,}:?\s*", c) for c in cells):
                    continue
                rows.append(tuple(inline(c.strip()) for c in cells))
            blocks.append(Block("table", rows=tuple(rows)))
        elif _HEADING.match(raw):
            blocks.append(Block("para", (Span("strong", children=inline(_HEADING.sub("", raw))),)))
        else:
            blocks.append(Block("para", inline(raw)))
    return tuple(blocks)


def _split_blocks(text: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    in_display = False
    for line in text.strip().split("\n"):
        if not line.strip() and not in_display:
            if current:
                out.append("\n".join(current).strip())
                current = []
            continue
        current.append(line)
        if line.count("$$") % 2:
            in_display = not in_display
    if current:
        out.append("\n".join(current).strip())
    return [b for b in out if b]


def is_display_only(spans: tuple[Span, ...]) -> bool:
    return all(s.kind == "display" or (s.kind == "text" and not s.text.strip()) for s in spans)


# -- HTML -------------------------------------------------------------------------------------


class HtmlRenderer:
    """Markdown -> HTML. `math="lms"` writes `\\( \\)` / `\\[ \\]` for an LMS's MathJax;
    `math="mathml"` converts to MathML, which browsers render with no script or font."""

    def __init__(self, math: str = "lms") -> None:
        if math not in ("lms", "mathml"):
            raise ValueError(f"math must be 'lms' or 'mathml' (got {math!r})")
        self.math = math

    def render(self, markdown: str) -> str:
        # Several formats of one build render the same stems and solutions: render once.
        return _render_html(self.math, markdown)

    def inline(self, markdown: str) -> str:
        return self.spans(inline(markdown))

    def block(self, b: Block) -> str:
        if b.kind == "list":
            return "<ul>" + "".join(f"<li>{self.spans(i)}</li>" for i in b.items) + "</ul>"
        if b.kind == "table":
            rows = "".join(
                "<tr>" + "".join(f"<td>{self.spans(c)}</td>" for c in row) + "</tr>"
                for row in b.rows
            )
            return f'<table class="md"><tbody>{rows}</tbody></table>'
        if is_display_only(b.spans):
            shown = [self.span(s) for s in b.spans if s.kind == "display"]
            if self.math == "mathml":  # one block each, so that long ones scroll on their own
                return "\n".join(f'<div class="display">{m}</div>' for m in shown)
            return "\n".join(shown)
        return f"<p>{self.spans(b.spans)}</p>"

    def spans(self, spans: tuple[Span, ...]) -> str:
        return "".join(self.span(s) for s in spans)

    def span(self, s: Span) -> str:
        if s.kind == "text":
            return html.escape(s.text, quote=False).replace("\n", " ")
        if s.kind == "code":
            return f"<code>{html.escape(s.text, quote=False)}</code>"
        if s.kind == "strong":
            return f"<strong>{self.spans(s.children)}</strong>"
        if s.kind == "em":
            return f"<em>{self.spans(s.children)}</em>"
        display = s.kind == "display"
        if self.math == "mathml":
            return mathml(s.text, display)
        body = html.escape(s.text, quote=False)
        return f"\\[{body}\\]" if display else f"\\({body}\\)"


@lru_cache(maxsize=8192)
def _render_html(math: str, markdown: str) -> str:
    r = HtmlRenderer(math)
    return "\n".join(r.block(b) for b in parse(markdown))


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Numbers of a skeleton: each literal becomes one of these, which the converter emits as one
# <mn> and which no formula of a quiz contains.
_SLOT_BASE = 7_770_000
_SLOT_MN = re.compile(r"<mn>(777\d{4})</mn>")


def mathml(latex: str, display: bool = False) -> str:
    """LaTeX -> MathML. Solutions of one template repeat the same formulas with other numbers,
    so each formula's skeleton (numbers as slots) is converted once and the numbers are put
    back into its <mn> elements; a formula whose numbers do not come back one <mn> each (a
    digit in \text, a bare x_12) is converted as it is."""
    # Stretchy \left( \right) fences come out with wide spacing in browsers' MathML; the
    # solutions' parentheses wrap single numbers, which need no stretching.
    plain = latex.replace(r"\left(", "(").replace(r"\right)", ")")
    numbers = _NUMBER.findall(plain)
    if not numbers or len(numbers) >= 10_000:
        return _convert(plain, display)
    slots = iter(range(_SLOT_BASE, _SLOT_BASE + len(numbers)))
    skeleton = _NUMBER.sub(lambda _m: str(next(slots)), plain)
    pieces = _skeleton(skeleton, display, len(numbers))
    if pieces is None:
        return _convert(plain, display)
    out = [pieces[0]]
    for k in range(1, len(pieces), 2):
        out.append(f"<mn>{numbers[pieces[k]]}</mn>")
        out.append(pieces[k + 1])
    return "".join(out)


@lru_cache(maxsize=16384)
def _skeleton(skeleton: str, display: bool, n: int) -> list[Any] | None:
    """The converted skeleton split at its slots: text, slot index, text, ...; None unless
    every slot comes back exactly once as an <mn>."""
    converted = _convert(skeleton, display)
    parts = _SLOT_MN.split(converted)
    indices = [int(x) - _SLOT_BASE for x in parts[1::2]]
    if sorted(indices) != list(range(n)) or "777" in "".join(parts[0::2]):
        return None
    return [int(x) - _SLOT_BASE if i % 2 else x for i, x in enumerate(parts)]


# latex2mathml knows align* but not aligned (it leaves a bare & in the output).
_ALIGNED = re.compile(r"\\(begin|end)\{aligned\}")


@lru_cache(maxsize=65536)
def _convert(latex: str, display: bool) -> str:
    """LaTeX -> MathML; what the converter cannot read, or turns into something that is not
    well-formed XML, is shown as LaTeX source rather than lost or breaking the page."""
    from latex2mathml.converter import convert
    from lxml import etree

    try:
        out = convert(
            _ALIGNED.sub(r"\\\1{align*}", latex), display="block" if display else "inline"
        )
        etree.fromstring(out)
        return out
    except Exception:  # the converter raises many types; the page must still be written
        code = html.escape(latex, quote=False)
        return f'<code class="tex">{code}</code>'


# -- LaTeX ------------------------------------------------------------------------------------

_TEX_ESCAPE = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "—": "---",
    "–": "--",
    "±": r"$\pm$",
    "×": r"$\times$",
    "−": "-",
    "≥": r"$\geq$",
    "<": r"$<$",  # OT1 text fonts have no < or >
    ">": r"$>$",
    "≤": r"$\leq$",
}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX_ESCAPE))


def tex_escape(text: str) -> str:
    return _TEX_RE.sub(lambda m: _TEX_ESCAPE[m.group(0)], text)


class LatexRenderer:
    """Markdown -> LaTeX body text; math passes through unchanged."""

    def render(self, markdown: str) -> str:
        return "\n\n".join(self.block(b) for b in parse(markdown))

    def inline(self, markdown: str) -> str:
        return self.spans(inline(markdown))

    def block(self, b: Block) -> str:
        if b.kind == "list":
            items = "\n".join(rf"  \item {self.spans(i)}" for i in b.items)
            return "\\begin{itemize}\n" + items + "\n\\end{itemize}"
        if b.kind == "table":
            ncol = max(len(r) for r in b.rows)
            rows = " \\\\\n".join(" & ".join(self.spans(c) for c in r) for r in b.rows)
            return f"\\begin{{tabular}}{{{'l' * ncol}}}\n{rows}\n\\end{{tabular}}"
        return self.spans(b.spans)

    def spans(self, spans: tuple[Span, ...]) -> str:
        return "".join(self.span(s) for s in spans)

    def span(self, s: Span) -> str:
        if s.kind == "text":
            return tex_escape(s.text)
        if s.kind == "code":
            return rf"\texttt{{{tex_escape(s.text)}}}"
        if s.kind == "strong":
            return rf"\textbf{{{self.spans(s.children)}}}"
        if s.kind == "em":
            return rf"\emph{{{self.spans(s.children)}}}"
        if s.kind == "display":
            return display_tex(s.text)
        return f"${s.text}$"


def _top_level_equals(expr: str) -> list[str]:
    """Split at `=` signs outside braces and \\left...\\right groups."""
    pieces, depth, start = [], 0, 0
    i = 0
    while i < len(expr):
        c = expr[i]
        if expr.startswith("\\left", i) and not expr[i + 5 : i + 6].isalpha():
            depth += 1
            i += 5
        elif expr.startswith("\\right", i) and not expr[i + 6 : i + 7].isalpha():
            depth -= 1
            i += 6
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "=" and depth == 0:
            pieces.append(expr[start:i].strip())
            start = i + 1
        i += 1
    pieces.append(expr[start:].strip())
    return pieces


def display_tex(expr: str, width: int = 64) -> str:
    """Display math; a long chain `a = b = c = d` is set one step a line so it fits the page
    (not a list of equations set side by side with \\qquad)."""
    visible = re.sub(r"\\[A-Za-z]+|[{}^_ ]", "", expr)
    pieces = _top_level_equals(expr)
    if (
        len(visible) <= width
        or len(pieces) < 3
        or not all(pieces)
        or r"\qquad" in expr
        or "&" in expr  # an aligned or matrix environment lays itself out
    ):
        return f"\n\\[ {expr} \\]\n"
    lines = [f"{pieces[0]} &= {pieces[1]}"] + [f"&= {p}" for p in pieces[2:]]
    return "\n\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}\n"
