"""What a finished run shows: the scorecard (``figures/scorecard.md``), each figure's caption in the
HTML report, and the report's first page (scorecard, configuration, git commit, package versions,
run time and peak memory of every job from Snakemake's ``benchmark:`` files).

Verdicts are read from the judge's files (``results/<paper>/<target>.verdict.json``); nothing here
decides one.  Light imports only (no torch, numpy or pandas): the report rules start fast.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from importlib import metadata
from pathlib import Path

from replicate.data.io import atomic_write
from replicate.verdicts import VERDICTS

ROOT = Path(__file__).resolve().parents[2]  # the repository holding this code

# the verdict file's keys shown in the scorecard (the judge's row plus the target's notes)
SCORECARD_COLUMNS = ("target", "paper", "marker", "ours", "verdict", "model / data", "notes")


# ---------------------------------------------------------------------------------------- scorecard


def load_rows(files) -> list[dict]:
    """The verdict files' rows, sorted by paper and target."""
    rows = [json.loads(Path(f).read_text()) for f in files if str(f).endswith(".verdict.json")]
    return sorted(rows, key=lambda r: (r["paper_key"], r["target"]))


def _paper_cell(row: dict) -> str:
    where, paper = row.get("where", ""), row.get("paper", "")
    return f"{where}: {paper}" if where and paper else where or paper


def _cells(row: dict) -> dict:
    """One scorecard row as text cells, by column name."""
    return {"target": f"{row['paper_key']}/{row['target']}", "paper": _paper_cell(row), "marker": row.get("marker", ""),
            "ours": row.get("ours", ""), "verdict": row["verdict"],
            "model / data": " / ".join(x for x in (row.get("model"), row.get("data")) if x),
            "notes": _notes(row)}


def _notes(row: dict) -> str:
    """The notes cell: the target's explanation (printed.yaml), then the run's detail."""
    return " ".join(x for x in (row.get("explanation", ""), row.get("detail", "")) if str(x).strip())


def totals(rows) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    return ", ".join(f"{v}: {n}" for v, n in counts.items() if n)


def summary_rows(files: dict, paper_values: dict) -> list[tuple[str, str, str]]:
    """Models and data behind the targets (``Paper.summary``): (name, this run, the paper's number)."""
    out = []
    for name, path in sorted(files.items()):
        info = json.loads(Path(path).read_text())
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
        out.append((name, ours, paper_values.get(name, "")))
    return out


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def scorecard(files: list[str], md_path, params: dict) -> None:
    """``files``: the verdict files (and any other inputs, ignored); ``params``: ``scale``,
    ``config_name``, ``paper_values`` (summary name -> the paper's number) and ``inputs`` (summary
    name -> its metrics file)."""
    rows = load_rows(files)
    lines = [
        "# Scorecard",
        "",
        f"Configuration: `{params.get('config_name', 'config/config.yaml')}` (scale: {params.get('scale', '?')}). "
        "Paper numbers come from each paper's `src/replicate/papers/<key>/printed.yaml` (marker: exact / approx / "
        "unverified, as on the reference card), ours from this run's `results/`. "
        "Verdicts: reproduced / not reproduced (the paper's finding, not its exact number) / "
        "not comparable (a stand-in cannot test it) / qualitative (a figure without a number) / not run.",
        "",
        "Versions of this run (installed from `requirements.lock`): "
        + ", ".join(f"{name} {version}" for name, version in package_versions() if name in KEY_PACKAGES) + ".",
        "",
        "| " + " | ".join(SCORECARD_COLUMNS) + " |",
        "| " + " | ".join("---" for _ in SCORECARD_COLUMNS) + " |",
    ]
    for r in rows:
        cells = _cells(r)
        cells["target"], cells["verdict"] = f"`{cells['target']}`", f"**{cells['verdict']}**"
        lines.append("| " + " | ".join(_md(cells[c]) for c in SCORECARD_COLUMNS) + " |")
    lines += ["", "Totals: " + totals(rows)]
    lines += ["", "## Models and data of this run", "", "| what | this run | paper |", "| --- | --- | --- |"]
    lines += [f"| {_md(n)} | {_md(o)} | {_md(p)} |" for n, o, p in
              summary_rows(params.get("inputs", {}), params.get("paper_values", {}))]
    atomic_write(md_path, "\n".join(lines + [""]))


# ---------------------------------------------------------------------------------------- reStructuredText

# Inline markup, substitutions, references, roles, and Jinja2 delimiters ({{ {% {#): Snakemake renders
# every caption and the first page with Jinja2 before docutils.  A backslash makes any of them literal.
_RST_SPECIAL = set("\\`*_|[]<>{}%#:")
_ENUMERATOR = re.compile(r"^\w{1,4}[.)](\s|$)")  # "1. ", "A. ", "iv) ": would start an enumerated list


def rst_text(text, start: bool = True) -> str:
    """``text`` as literal reStructuredText on one line; ``start``: it begins a paragraph or a table
    cell, so its first character is escaped too (no list, enumeration or comment is read into it)."""
    text = " ".join(str(text).split())
    out = "".join("\\" + c if c in _RST_SPECIAL else c for c in text)
    if start and text and not out.startswith("\\") and (not text[0].isalnum() or _ENUMERATOR.match(text)):
        out = "\\" + out
    return out


def _list_table(header, rows, widths=None, indent="") -> list[str]:
    lines = [f"{indent}.. list-table::", f"{indent}   :header-rows: 1"]
    if widths:
        lines.append(f"{indent}   :widths: {' '.join(map(str, widths))}")
    lines.append("")
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            text = rst_text(cell) if str(cell).strip() else "\\-"
            lines.append(f"{indent}   {'* -' if i == 0 else '  -'} {text}")
    return lines + [""]


def _section(title: str, char: str) -> list[str]:
    return [title, char * len(title), ""]


# ---------------------------------------------------------------------------------------- captions


def caption(paper: str, tid: str, row: dict, call: dict) -> str:
    """The report caption of one figure: the claim, the paper's number with its marker and where it
    stands, ours and the verdict (reStructuredText, deterministic)."""
    where = row.get("where", "")
    marker = row.get("marker", "")
    said = ", ".join(x for x in (where, f"marker: {marker}" if marker else "") if x)
    lines = [f"**{rst_text(f'{paper}/{tid}', start=False)}**", ""]
    items = [
        ("Claim", row.get("finding", "") or "(no single finding: see the notes)"),
        (f"Paper ({said})" if said else "Paper", row.get("paper", "") or "(no number printed)"),
        ("Ours", row.get("ours", "") or "(none)"),
        ("Verdict", row["verdict"]),
        ("What was run", row.get("explanation", "")),
        ("Notes", row.get("detail", "")),
        ("Model", call.get("model", "")),
        ("Data", call.get("data", "")),
    ]
    for label, text in items:
        if not str(text).strip():
            continue
        body = f"**{rst_text(text, start=False)}**" if label == "Verdict" else rst_text(text, start=False)
        lines.append(f"- **{rst_text(label, start=False)}:** {body}")
    return "\n".join(lines + [""])


def write_caption(path, paper: str, tid: str, row: dict, call: dict) -> None:
    """Write the caption that the target's ``report(png, caption=path, ...)`` shows."""
    atomic_write(path, caption(paper, tid, row, call))


# ---------------------------------------------------------------------------------------- first page


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


RESOURCES = "replicate resources:"
_RESOURCES = re.compile(r"^replicate resources: cpu_s=([\d.]+) max_rss_mb=([\d.]+)\s*$")


def job_resources(log_path) -> dict | None:
    """``{"cpu_s", "max_rss_mb"}`` from the last resources line a ``python -m replicate`` job wrote to its log when it
    exited (exact, from ``getrusage``; Snakemake's ``benchmark:`` samples CPU time every 30 s and misses the end of
    a job), or None for a log without one."""
    if not log_path or not os.path.isfile(log_path):
        return None
    found = None
    with open(log_path, errors="replace") as fh:
        for line in fh:
            if m := _RESOURCES.match(line):
                found = {"cpu_s": float(m.group(1)), "max_rss_mb": float(m.group(2))}
    return found


def benchmarks(bench_dir) -> list[dict]:
    """Every Snakemake ``benchmark:`` file under ``bench_dir`` (TSV: s, h:m:s, max_rss, ..., cpu_time):
    ``{"job", "s", "max_rss", "cpu_time", "repeats"}`` (the mean over a file's repeats), by job name. A job whose
    log (``<bench_dir>/../<job>.log``, the suite's layout) ends with a resources line gets its exact CPU time and
    the larger of the two peak memories."""
    out = []
    for path in sorted(Path(bench_dir).rglob("*.tsv")) if Path(bench_dir).is_dir() else []:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if not rows:
            continue
        rec = {"job": path.relative_to(bench_dir).with_suffix("").as_posix(), "repeats": len(rows)}
        for key in ("s", "max_rss", "cpu_time"):
            vals = [v for v in (_number(r.get(key)) for r in rows) if v is not None]
            rec[key] = sum(vals) / len(vals) if vals else None
        exact = job_resources(Path(bench_dir).parent / f"{rec['job']}.log")
        if exact and rec["repeats"] == 1:
            rec["cpu_time"] = exact["cpu_s"]
            rec["max_rss"] = max(exact["max_rss_mb"], rec["max_rss"] or 0.0)
        out.append(rec)
    return out


def _hms(seconds) -> str:
    if seconds is None:
        return "n/a"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _mb(value) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def git_commit(where=None) -> str:
    """The commit of the repository at ``where`` (the working directory, else this code's repository)."""
    for cwd in ([where] if where else []) + [os.getcwd(), str(ROOT)]:
        try:
            head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=30)
            if head.returncode != 0:
                continue
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                   capture_output=True, text=True, timeout=30).stdout.strip()
            return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            continue
    return "unknown (not a git checkout)"


KEY_PACKAGES = ("python", "torch", "transformers", "numpy", "scipy", "scikit-learn", "pandas", "spacy", "snakemake")


def package_versions() -> list[tuple[str, str]]:
    """Python and every installed requirement of this package (pyproject's dependencies and extras)."""
    import platform

    out = [("python", platform.python_version())]
    try:
        requires = metadata.requires("replicate") or []
    except metadata.PackageNotFoundError:
        requires = []
    names = sorted({re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0].lower() for r in requires} | {"snakemake", "docutils"})
    for name in names:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return out


def overview_rst(rows, summary, bench, config: dict, params: dict, full: bool) -> str:
    """The first page (``full=False``: a compact scorecard and the configuration folded away) or the
    overview page of the report (``full=True``: the scorecard's every column)."""
    import yaml

    lines = []
    if full:
        lines += ["=" * 16, "Replication run", "=" * 16, ""]
    files = params.get("config_files") or ["config/config.yaml"]
    lines += [
        f"- **Configuration:** {rst_text(', '.join(files), start=False)} (scale: "
        f"{rst_text(config.get('scale', params.get('scale', '?')), start=False)}; papers: "
        f"{rst_text(', '.join(config.get('papers', [])), start=False)})",
        f"- **Code:** git commit {rst_text(params.get('commit') or git_commit(), start=False)}",
        f"- **Verdicts:** {rst_text(totals(rows) or 'none', start=False)}",
    ]
    known = [b for b in bench if b["s"] is not None]
    if known:
        peak = max((b for b in bench if b["max_rss"] is not None), key=lambda b: b["max_rss"], default=None)
        lines.append(f"- **Jobs:** {len(bench)} timed, {_hms(sum(b['s'] for b in known))} in all (sum of wall "
                     "times)" + (f"; largest peak memory {_mb(peak['max_rss'])} MB "
                                 f"({rst_text(peak['job'], start=False)})" if peak else ""))
    lines.append("")

    lines += _section("Scorecard", "-")
    lines += ["The paper's number, its marker (exact / approx / unverified, as on the reference card), ours and "
              "the verdict of every target; each figure's caption under its paper repeats its row.", ""]
    if full:
        cells = [_cells(r) for r in rows]
        lines += _list_table(SCORECARD_COLUMNS, [[c[k] for k in SCORECARD_COLUMNS] for c in cells],
                             widths=(10, 18, 6, 18, 8, 14, 26))
    else:
        lines += _list_table(("target", "where", "marker", "verdict"),
                             [(f"{r['paper_key']}/{r['target']}", r.get("where", ""), r.get("marker", ""), r["verdict"])
                              for r in rows])
    if summary:
        lines += _section("Models and data", "-")
        lines += _list_table(("what", "this run", "paper"), summary)

    lines += _section("Run time and peak memory", "-")
    if bench:
        lines += [f"From the ``benchmark:`` files ({rst_text(params.get('bench_dir', 'logs/bench'), start=False)}): "
                  "wall time, CPU time and peak resident memory (max_rss) of each job; CPU time and memory from the resources "
                  "line a job's log ends with (exact) where there is one.", ""]
        lines += _list_table(("job", "wall time", "CPU s", "peak MB"),
                             [(b["job"], _hms(b["s"]), "n/a" if b["cpu_time"] is None else f"{b['cpu_time']:.0f}",
                               _mb(b["max_rss"])) for b in bench])
    else:
        lines += ["No benchmark files found.", ""]

    lines += _section("Package versions", "-")
    lines += [", ".join(f"{rst_text(n, start=False)} {rst_text(v, start=False)}" for n, v in
                        (params.get("packages") or package_versions())), ""]

    lines += _section("Configuration", "-")
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)
    if not full:
        lines += [".. raw:: html", "", "   <details><summary>the configuration this run used (YAML)</summary>", ""]
    lines += ["::", ""] + ["    " + line if line else "" for line in text.splitlines()] + [""]
    if not full:
        lines += [".. raw:: html", "", "   </details>", ""]
    return "\n".join(lines)


def _publish_html(rst: str) -> str:
    import warnings

    from docutils.core import publish_string

    with warnings.catch_warnings():  # docutils 0.22 renames writer_name (older ones lack the new name)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return publish_string(rst, writer_name="html5", settings_overrides={
            "halt_level": 3, "report_level": 3, "embed_stylesheet": True, "output_encoding": "unicode",
            "_disable_config": True})


def overview(inputs: dict, outputs: dict, params: dict) -> None:
    """The report's first page.

    ``inputs``: the verdict files (any key, ``*.verdict.json``) and the summary metrics files (key:
    the summary name); ``outputs``: ``rst`` (included by the report's first page, rules/report/front.rst)
    and ``html`` (the same with the scorecard's every column, a report item); ``params``: ``config``
    (the configuration as run), ``config_files``, ``bench_dir`` (Snakemake's benchmark files),
    ``paper_values`` (summary name -> the paper's number).
    """
    rows = load_rows(inputs.values())
    files = {k: v for k, v in inputs.items() if not str(v).endswith(".verdict.json")}
    summary = summary_rows(files, params.get("paper_values", {}))
    bench = benchmarks(params.get("bench_dir", "logs/bench"))
    config = params.get("config", {})
    params = {**params, "commit": params.get("commit") or git_commit(), "packages": params.get("packages")
              or package_versions()}
    if "rst" in outputs:
        atomic_write(outputs["rst"], overview_rst(rows, summary, bench, config, params, full=False))
    if "html" in outputs:
        atomic_write(outputs["html"], _publish_html(overview_rst(rows, summary, bench, config, params, full=True)))
