"""The scorecard: one row per target, the paper's number beside ours and a verdict."""

from __future__ import annotations

import json
from pathlib import Path

from replicate.data.prepare import atomic_write

VERDICTS = ("reproduced", "not reproduced", "not comparable", "qualitative", "not run")


def not_run_row(paper, stem: str) -> dict:
    """The scorecard row of a target this configuration does not produce.

    ``paper.NOT_RUN[stem]`` is either the whole row or the reason; the paper's number then
    comes from ``paper.PAPER_NOT_RUN``.
    """
    entry = paper.NOT_RUN[stem]
    if isinstance(entry, dict):
        return entry
    return {"paper": getattr(paper, "PAPER_NOT_RUN", {}).get(stem, "see the reference card"), "ours": "",
            "verdict": "not run", "detail": entry}


def _inputs_section(files: dict, params: dict) -> list[str]:
    """Models and data behind the targets: sizes and accuracies from this run's files."""
    lines = ["", "## Models and data of this run", "", "| what | this run | paper |", "| --- | --- | --- |"]
    for name, path in sorted(files.items()):
        info = json.loads(Path(path).read_text())
        paper = params.get("paper_values", {}).get(name, "")
        if "test_accuracy" in info:
            ours = f"test accuracy {info['test_accuracy']:.3f} on {info['n_test']} examples"
            if "majority_baseline" in info:
                ours += f" (majority class {info['majority_baseline']:.3f})"
            if "test_accuracy_before" in info:
                ours += f" (before fine-tuning {info['test_accuracy_before']:.3f})"
            ours += f"; trained on {info['n_train']}"
        elif "attractor_histogram" in info:
            hist = ", ".join(f"{k}: {v}" for k, v in info["attractor_histogram"].items())
            ours = f"{info['instances']} instances (splits {info['splits']}); by number of attractors {hist}"
        else:
            ours = ", ".join(f"{k} {v}" for k, v in info.items())
        lines.append(f"| {name} | {ours} | {paper} |")
    return lines


def scorecard(files: list[str], md_path, params: dict) -> None:
    verdict_files = [f for f in files if f.endswith(".verdict.json")]
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
    lines += ["", "Totals: " + ", ".join(f"{v}: {n}" for v, n in counts.items() if n)]
    lines += _inputs_section(params.get("inputs", {}), params) + [""]
    atomic_write(md_path, "\n".join(lines))
