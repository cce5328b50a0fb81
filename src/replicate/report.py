"""The scorecard: one row per target, the paper's number beside ours and a verdict."""

from __future__ import annotations

import json
from pathlib import Path

from .data import atomic_write

VERDICTS = ("reproduced", "not reproduced", "not comparable", "qualitative", "not run")


def scorecard(verdict_files: list[str], md_path, params: dict) -> None:
    rows = [json.loads(Path(f).read_text()) for f in verdict_files]
    rows.sort(key=lambda r: (r["paper_key"], r["target"]))
    lines = [
        "# Scorecard",
        "",
        f"Configuration: `{params.get('config_name', 'config/config.yaml')}` (scale: {params.get('scale', '?')}). "
        "Paper numbers come from `src/replicate/papers/`, ours from this run's `results/`. "
        "Verdicts: reproduced / not reproduced (the paper's finding, not its exact number) / "
        "not comparable (a stand-in cannot test it) / qualitative (a figure without a number).",
        "",
        "| target | paper | ours | verdict | model / data | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = [f"`{r['paper_key']}/{r['target']}`", r.get("paper", ""), r.get("ours", ""), f"**{r['verdict']}**",
                 " / ".join(x for x in (r.get("model"), r.get("data")) if x), r.get("detail", "")]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    lines += ["", "Totals: " + ", ".join(f"{v}: {n}" for v, n in counts.items() if n), ""]
    atomic_write(md_path, "\n".join(lines))
