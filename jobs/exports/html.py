"""A standalone HTML exam: figures inline as SVG, math as MathML (rendered by the browser with no
script, font or network); with `--answer-key`, each problem's answers, accepted intervals and
worked solution."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from generators import Variant
from jobs.exports import common
from jobs.exports.figures import svg_for
from jobs.exports.markup import HtmlRenderer
from jobs.formats import Format, SetInfo

MATHML = HtmlRenderer("mathml")

CSS = """
:root { --ink: #1d2430; --soft: #5b6577; --rule: #d6dbe3; --key: #f3f7ee; --accent: #2f5d9e; }
* { box-sizing: border-box; }
body { font: 16px/1.5 "DejaVu Serif", Georgia, "Times New Roman", serif; color: var(--ink);
       max-width: 60rem; margin: 2rem auto; padding: 0 1.5rem; }
header { border-bottom: 2px solid var(--ink); margin-bottom: 1.5rem; padding-bottom: .5rem; }
header h1 { margin: 0 0 .25rem; font-size: 1.7rem; }
header .meta { color: var(--soft); margin: 0; }
.name { margin-top: .75rem; }
.name span { display: inline-block; min-width: 16rem; border-bottom: 1px solid var(--ink); }
section.problem { border-top: 1px solid var(--rule); padding-top: 1rem; margin-top: 1.5rem; }
section.problem h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
section.problem h2 .pts { float: right; font-weight: normal; color: var(--soft); font-size: 1rem; }
figure { margin: .75rem 0; text-align: center; }
figure svg { max-width: 100%; height: auto; }
.display { margin: .4rem 0; overflow-x: auto; overflow-y: hidden; padding: 2px 0; }
ol.parts { list-style: none; padding-left: 0; }
ol.parts > li { margin: .6rem 0; }
.letter { font-weight: bold; margin-right: .4rem; }
.box { display: inline-block; min-width: 9rem; border-bottom: 1px solid var(--ink);
       margin-left: .5rem; height: 1.2em; vertical-align: bottom; }
.entries { margin: .3rem 0 0 2rem; }
.entries .box { min-width: 6rem; }
ul.options { list-style: none; margin: .3rem 0 0 2rem; padding: 0; }
ul.options li::before { content: "\\2610\\00a0"; }
.key { background: var(--key); border-left: 4px solid #7aa35a; padding: .5rem 1rem;
       margin-top: 1rem; }
.key h3 { margin: .3rem 0; font-size: 1rem; }
.key table { border-collapse: collapse; margin: .3rem 0 .6rem; }
.key td, .key th { border-bottom: 1px solid var(--rule); padding: .2rem .6rem; text-align: left; }
.ref { color: var(--soft); font-size: .8rem; margin-top: .5rem; }
.note { color: var(--soft); font-style: italic; }
table.md { border-collapse: collapse; }
table.md td { border: 1px solid var(--rule); padding: .2rem .5rem; }
@media print { section.problem { break-inside: avoid; } body { margin: 0 auto; } }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _g(x: float) -> str:
    return f"{x:.6g}"


def _blank_student(b: common.Blank) -> str:
    if b.kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        return '<ul class="options">' + "".join(f"<li>{_e(o)}</li>" for o in b.options) + "</ul>"
    return '<span class="box"></span>'


def part_student(p: common.Part) -> str:
    head = f'<span class="letter">({p.letter})</span> {MATHML.inline(p.prompt)}'
    if p.blanks[0].kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        return f"<li>{head}{_blank_student(p.blanks[0])}</li>"
    if len(p.blanks) == 1 and not p.blanks[0].index:
        return f"<li>{head}{_blank_student(p.blanks[0])}</li>"
    cells = " ".join(f"{b.suffix}{_blank_student(b)}" for b in p.blanks)
    return f'<li>{head}<div class="entries">{cells}</div></li>'


def _answer_cells(b: common.Blank) -> tuple[str, str]:
    """(answer, what is accepted) for one box, with the exact values in data attributes."""
    if b.kind is common.BlankKind.NUMBER:
        shown = _g(b.value)
        accepted = " or ".join(
            f'<span class="range" data-lo="{common.num(r.lo)}" data-hi="{common.num(r.hi)}">'
            f"{common.interval_text(r)}</span>"
            for r in b.ranges
        )
        return f'<span data-value="{common.num(b.value)}">{shown}</span>', accepted
    if b.kind is common.BlankKind.INTEGER:
        return f'<span data-value="{b.value}">{b.value}</span>', "exactly"
    if b.kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        value = ", ".join(b.correct) if b.correct else "(none)"
        data = _e(json.dumps(list(b.correct)))
        partial = "" if b.kind is common.BlankKind.CHOICE else "partial credit per option"
        return f'<span data-value="{data}">{_e(value)}</span>', partial
    accepted = " or ".join(f"<code>{_e(a)}</code>" for a in b.accept)
    how = "" if b.graded_exactly else " (or an equivalent form)"
    return f'<span data-value="{_e(b.value)}">{_e(b.value)}</span>', accepted + how


def key_html(v: Variant, parts: Sequence[common.Part]) -> str:
    rows = []
    for p in parts:
        for b in p.blanks:
            answer, accepted = _answer_cells(b)
            rows.append(
                f'<tr data-part="{_e(p.id)}" data-entry="{_e(b.suffix)}"><td>({p.letter}){b.suffix}'
                f"</td><td>{answer}</td><td>{accepted}</td><td>{_g(b.weight)}</td></tr>"
            )
    table = (
        "<table><thead><tr><th>Part</th><th>Answer</th><th>Accepted</th><th>Points</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )
    solution = MATHML.render(v.solution) if v.solution else ""
    return (
        f'<div class="key"><h3>Answers</h3>{table}'
        f'<h3>Worked solution</h3><div class="solution">{solution}</div></div>'
    )


def problem_html(v: Variant, index: int, number: int, answer_key: bool) -> str:
    parts = common.parts_of(v)
    pts = common.total_points(parts)
    svg = svg_for(v)
    fig = f"<figure>{svg}</figure>" if svg else ""
    items = "".join(part_student(p) for p in parts)
    notes = ""
    if any(not b.graded_exactly for p in parts for b in p.blanks):
        notes = '<p class="note">Some parts are written expressions, marked by hand.</p>'
    seed = "" if v.seed is None else f", seed {v.seed}"
    out = [
        f'<section class="problem" id="{common.variant_id(v, index)}" data-template="{_e(v.template)}"'
        f' data-seed="{"" if v.seed is None else v.seed}">',
        f'<h2>Problem {number}: {_e(v.title or v.template)} <span class="pts">'
        f"{_g(pts)} point{'s' if pts != 1 else ''}</span></h2>",
        fig,
        MATHML.render(common.stem_body(v)),
        f'<ol class="parts">{items}</ol>{notes}',
    ]
    if answer_key:
        out.append(key_html(v, parts))
    out.append(f'<p class="ref">{_e(v.template)} v{v.version}{seed}</p></section>')
    return "\n".join(o for o in out if o)


def write(variants: Sequence[Variant], info: SetInfo) -> bytes:
    kind = "Answer key" if info.answer_key else "Exam"
    total = sum(common.total_points(common.parts_of(v)) for v in variants)
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="seqquiz">\n'
        f"<title>{_e(info.title)} ({kind.lower()})</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{_e(info.title)}</h1>"
        f'<p class="meta">{kind} · {len(variants)} problem{"s" if len(variants) != 1 else ""}'
        f" · {_g(total)} points</p>"
        + ("" if info.answer_key else '<p class="name">Name: <span></span></p>')
        + "</header>\n"
    )
    body = [problem_html(v, i, i + 1, info.answer_key) for i, v in enumerate(variants)]
    return (head + "\n".join(body) + "\n</body>\n</html>\n").encode()


FORMAT = Format(
    "html",
    "standalone HTML exam (MathML, inline SVG figures); --answer-key adds answers and solutions",
    write,
    extension=".html",
)
