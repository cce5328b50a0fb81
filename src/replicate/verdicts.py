"""The one verdict judge: (claim, our values) -> scorecard row.

A claim is data, in the paper's ``printed.yaml`` under its target::

    table1:
      where: Table 1                       # where the printed value stands in the paper
      marker: unverified                   # exact / approx / unverified (the card's marker)
      statement: "mean rho over L4-L6: ..."  # what the paper printed (the scorecard's paper column)
      explanation: >                       # what was run, the choices the paper leaves open, why a stand-in
        ...
      values: {...}                        # the printed numbers a target function reads
      claim:
        kind: compare                      # compare | qualitative | untestable
        finding: rollout and flow > raw in the upper layers
        all:                               # every condition must hold (``any:`` one of them)
          - [rollout, ">", raw]            # value names (our values) or numbers
          - [flow, ">", raw]

A target function returns ``{"values": {...}, "ours": text, "detail": text}`` and may add
``"paper"`` (the printed numbers formatted for this run) and ``"untestable"`` (why this model or
data cannot test the claim).  Only this module decides a verdict.
"""

from __future__ import annotations

import math
import operator

VERDICTS = ("reproduced", "not reproduced", "not comparable", "qualitative", "not run")
MARKERS = ("exact", "approx", "unverified", "none")
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
KINDS = ("compare", "qualitative", "untestable")


class ClaimError(ValueError):
    """A malformed claim in printed.yaml."""


class Missing(Exception):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


def _value(term, values: dict):
    if isinstance(term, bool) or isinstance(term, (int, float)):
        return term
    if not isinstance(term, str):
        raise ClaimError(f"a condition term must be a value name or a number, got {term!r}")
    if term not in values:
        raise Missing(term)
    v = values[term]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        raise Missing(term)
    return v


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def evaluate(cond, values: dict) -> tuple[bool, str]:
    """One condition (``[lhs, op, rhs]``, or ``{all: [...]}`` / ``{any: [...]}``) -> (holds, text)."""
    if isinstance(cond, dict):
        if set(cond) not in ({"all"}, {"any"}):
            raise ClaimError(f"a nested condition is {{all: [...]}} or {{any: [...]}}, got {cond!r}")
        (how, items), = cond.items()
        if not items:
            raise ClaimError(f"empty {how!r} condition")
        results = [evaluate(c, values) for c in items]
        holds = (all if how == "all" else any)(h for h, _ in results)
        return holds, f"({f' {how[:3]} '.join(t for _, t in results)})" if len(results) > 1 else results[0][1]
    if not (isinstance(cond, (list, tuple)) and len(cond) == 3 and cond[1] in OPS):
        raise ClaimError(f"a condition is [lhs, op, rhs] with op one of {list(OPS)}, got {cond!r}")
    lhs, op, rhs = cond
    a, b = _value(lhs, values), _value(rhs, values)
    holds = bool(OPS[op](a, b))
    name = lambda t, v: _fmt(v) if not isinstance(t, str) else f"{t} {_fmt(v)}"  # noqa: E731
    return holds, f"{name(lhs, a)} {op} {name(rhs, b)}: {'yes' if holds else 'no'}"


def check_entry(key: str, entry: dict) -> None:
    """Raise :class:`ClaimError` for a printed.yaml entry the judge cannot read."""
    if not isinstance(entry, dict) or "claim" not in entry or "marker" not in entry:
        raise ClaimError(f"{key}: an entry needs marker and claim")
    if entry["marker"] not in MARKERS:
        raise ClaimError(f"{key}: marker {entry['marker']!r} is not one of {MARKERS}")
    claim = entry["claim"]
    if claim.get("kind") not in KINDS:
        raise ClaimError(f"{key}: claim kind {claim.get('kind')!r} is not one of {KINDS}")
    if claim["kind"] == "compare" and not (("all" in claim) ^ ("any" in claim)):
        raise ClaimError(f"{key}: a compare claim has exactly one of all / any")


def judge(entry: dict, result: dict | None = None, not_run: str | None = None) -> dict:
    """The scorecard row of one target: ``entry`` from printed.yaml, ``result`` from its target function
    (or ``not_run``: why this configuration does not produce it)."""
    check_entry("claim", entry)
    claim = entry["claim"]
    row = {"paper": entry.get("statement", ""), "marker": entry["marker"], "where": entry.get("where", ""),
           "finding": claim.get("finding", ""), "explanation": " ".join(str(entry.get("explanation", "")).split())}
    if not_run is not None:
        return {**row, "ours": "", "verdict": "not run", "detail": not_run}
    result = result or {}
    values = result.get("values", {})
    if result.get("paper"):
        row["paper"] = result["paper"]
    notes = []
    if claim["kind"] == "untestable" or result.get("untestable"):
        verdict = "not comparable"
        notes.append(result.get("untestable") or claim.get("why", ""))
    elif claim["kind"] == "qualitative":
        verdict = "qualitative"
        if claim.get("finding"):
            notes.append(claim["finding"])
    else:
        how = "all" if "all" in claim else "any"
        try:
            holds, text = evaluate({how: claim[how]}, values)
        except Missing as m:
            verdict = "not comparable"
            notes.append(f"finding: {claim.get('finding', '')}; our value {m.name!r} is missing, so it is not judged")
        else:
            verdict = "reproduced" if holds else "not reproduced"
            notes.append(f"finding: {claim.get('finding', '')} ({text})")
    if result.get("detail"):
        notes.append(result["detail"])
    return {**row, "ours": result.get("ours", ""), "verdict": verdict, "detail": "; ".join(n for n in notes if n)}
