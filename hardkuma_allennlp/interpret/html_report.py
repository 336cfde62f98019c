"""
A self-contained HTML page of rationales (inline CSS, no scripts, no network): for each input the
text with every token shaded by its gate value (tokens whose gate is exactly zero stay plain), the
prediction with its probabilities or score, the gold label, gold rationale spans (underlined)
against predicted ones (shaded), and for attention models the attention matrix as a heatmap; a
summary block with the corpus metrics on top. Pure Python; the input is the records and summary of
`hardkuma_allennlp.interpret.rationale_evaluator`.
"""

import html
import unicodedata
from typing import Any, Dict, Optional, Sequence

# The bidirectional control characters (embeddings, overrides, isolates and marks): in the page
# each is shown as its code, so that none can reorder the text around it (a U+202E in an input
# would show the tokens after it reversed). Each token is isolated too (`.tok`), so that a
# right-to-left word cannot move its neighbours.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 60em; color: #222; line-height: 1.6; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
.meta { color: #666; font-size: 0.9em; }
table.summary { border-collapse: collapse; margin: 1em 0; }
table.summary td, table.summary th { border: 1px solid #ccc; padding: 0.2em 0.6em;
       text-align: right; font-variant-numeric: tabular-nums; }
table.summary th { background: #f4f4f4; text-align: left; }
.legend span { margin-right: 1.5em; }
.input { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 0.9em; margin: 0.8em 0; }
.input .head { font-size: 0.85em; color: #555; margin-bottom: 0.3em; }
.wrong { color: #b00020; font-weight: bold; }
.right { color: #1b7f3b; font-weight: bold; }
.field { margin: 0.2em 0; }
.field .name { font-size: 0.8em; color: #777; margin-right: 0.5em; }
.tok { padding: 0.05em 0.12em; border-radius: 3px; unicode-bidi: isolate; }
.ctl { font-size: 0.75em; color: #b00020; border: 1px dotted #b00020; }
.gold { border-bottom: 3px solid #1b7f3b; }
.probs { font-size: 0.8em; color: #444; }
.prob { display: inline-block; margin-right: 1.2em; white-space: nowrap; }
.prob .label { font-weight: bold; }
.bar { display: inline-block; height: 0.7em; background: #7a8fd1; vertical-align: middle;
       margin: 0 0.3em 0 0.1em; }
table.heatmap { border-collapse: collapse; font-size: 0.75em; margin-top: 0.4em; }
table.heatmap td { width: 1.7em; height: 1.5em; border: 1px solid #eee; text-align: center; }
table.heatmap th { font-weight: normal; padding: 0 0.3em; unicode-bidi: isolate; }
table.heatmap th.col { writing-mode: vertical-rl; transform: rotate(180deg); height: 6em;
       text-align: left; }
"""

METRIC_NAMES = {
    "inputs": "inputs",
    "accuracy": "accuracy",
    "mse": "mean squared error",
    "selected": "share of tokens selected",
    "comprehensiveness": "comprehensiveness (at the model's rationale)",
    "sufficiency": "sufficiency (at the model's rationale)",
    "aopc_comprehensiveness": "AOPC comprehensiveness",
    "aopc_sufficiency": "AOPC sufficiency",
    "gold_inputs": "inputs with gold rationales",
    "token_precision": "token precision",
    "token_recall": "token recall",
    "token_f1": "token F1",
    "iou_precision": "IOU precision (IOU >= 0.5)",
    "iou_recall": "IOU recall (IOU >= 0.5)",
    "iou_f1": "IOU F1 (IOU >= 0.5)",
}


def _escape(text: str, markup: bool = True) -> str:
    """`html.escape`, with every bidirectional control shown as its code (marked up, or plain
    text where no markup may go: attributes and the page title)."""
    escaped = html.escape(text)
    if BIDI_CONTROLS.isdisjoint(escaped):
        return escaped
    shown = []
    for character in escaped:
        if character not in BIDI_CONTROLS:
            shown.append(character)
        elif markup:
            name = unicodedata.name(character, "bidirectional control")
            shown.append(f'<span class="ctl" title="{name}">U+{ord(character):04X}</span>')
        else:
            shown.append(f"[U+{ord(character):04X}]")
    return "".join(shown)


def _shade(value: float, rgb: str = "255, 140, 0") -> str:
    return f"background: rgba({rgb}, {0.15 + 0.75 * min(1.0, max(0.0, value)):.3f})"


def _token(token: str, gate: Optional[float], gold: bool) -> str:
    classes = ["tok"] + (["gold"] if gold else [])
    style, title = "", ""
    if gate is not None:
        title = f' title="gate {gate:.3f}"'
        if gate != 0:
            style = f' style="{_shade(gate)}"'
    return f'<span class="{" ".join(classes)}"{style}{title}>{_escape(token)}</span>'


def _field(name: str, record: Dict[str, Any], show_name: bool) -> str:
    tokens = record["tokens"][name]
    gates = (record.get("gates") or {}).get(name)
    gold = (record.get("gold_rationale") or {}).get(name)
    parts = [
        _token(token, gates[i] if gates is not None else None, bool(gold and gold[i]))
        for i, token in enumerate(tokens)
    ]
    label = f'<span class="name">{_escape(name)}</span>' if show_name else ""
    return f'<div class="field">{label}{" ".join(parts)}</div>'


def _prediction(record: Dict[str, Any]) -> str:
    gold = record.get("gold_label")
    if record["regression"]:
        text = f"predicted score <b>{record['score']:.3f}</b>"
        if gold is not None:
            text += f", gold {float(gold if not isinstance(gold, list) else gold[0]):.3f}"
        return text
    predicted = str(record["prediction"])
    verdict = ""
    if gold is not None:
        verdict = (
            ' <span class="right">correct</span>'
            if str(gold) == predicted
            else f' <span class="wrong">wrong</span> (gold {_escape(str(gold))})'
        )
    # One bar per class, named as in the model's label vocabulary.
    bars = "".join(
        f'<span class="prob" title="P({_escape(label, markup=False)})">'
        f'<span class="label">{_escape(label)}</span>'
        f'<span class="bar" style="width: {4 * p:.2f}em"></span>{p:.2f}</span>'
        for label, p in record["probabilities"].items()
    )
    return (
        f"predicted <b>{_escape(predicted)}</b>{verdict}"
        f'<div class="probs"><span class="name">class probabilities:</span> {bars}</div>'
    )


def _heatmap(record: Dict[str, Any]) -> str:
    first, second = list(record["tokens"])[:2]
    rows, columns = record["tokens"][first], record["tokens"][second]
    matrix = record["attention"]
    head = "".join(f'<th class="col">{_escape(t)}</th>' for t in columns)
    lines = [f'<table class="heatmap"><tr><th></th>{head}</tr>']
    for token, values in zip(rows, matrix):
        cells = "".join(
            (
                f'<td style="{_shade(v, "40, 90, 200")}" title="{v:.3f}">'
                f'{"" if v == 0 else f"{v:.1f}"}</td>'
                if v != 0
                else '<td title="0"></td>'
            )
            for v in values
        )
        lines.append(f'<tr><th style="text-align: right">{_escape(token)}</th>{cells}</tr>')
    lines.append("</table>")
    return "".join(lines)


def _summary(summary: Dict[str, Any]) -> str:
    rows = []
    for key, name in METRIC_NAMES.items():
        if key in summary:
            value = summary[key]
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            rows.append(f'<tr><th>{html.escape(name)}</th><td id="metric-{key}">{shown}</td></tr>')
    return '<table class="summary">' + "".join(rows) + "</table>"


def render(
    records: Sequence[Dict[str, Any]],
    summary: Dict[str, Any],
    title: str = "Rationales",
    description: str = "",
) -> str:
    """The report as one HTML string."""
    has_gold = any("gold_rationale" in r for r in records)
    has_gates = any(r.get("gates") for r in records)
    legend = []
    if has_gates:
        legend.append(
            f'<span><span class="tok" style="{_shade(1.0)}">token</span> shaded by its gate '
            "value (plain: exactly 0, not selected)</span>"
        )
    else:
        legend.append("<span>This model has no gates: the text is shown plain.</span>")
    if has_gold:
        legend.append('<span><span class="tok gold">token</span> gold rationale</span>')
    if any("attention" in r for r in records):
        legend.append("<span>heatmap: attention weight of each premise/hypothesis pair</span>")
    body = []
    for record in records:
        names = list(record["tokens"])
        fields = "".join(_field(name, record, len(names) > 1) for name in names)
        extra = _heatmap(record) if "attention" in record else ""
        body.append(
            f'<div class="input" id="input-{record["index"]}">'
            f'<div class="head">#{record["index"]}: {_prediction(record)}</div>'
            f"{fields}{extra}</div>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_escape(title, markup=False)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{_escape(title)}</h1>"
        f'<div class="meta">{_escape(description)}</div>'
        f'<h2>Summary</h2>{_summary(summary)}<div class="legend">{"".join(legend)}</div>'
        f'<h2>Inputs</h2>{"".join(body)}'
        "</body></html>\n"
    )
