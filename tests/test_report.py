"""The scorecard, the figure captions and the HTML report (``snakemake --report report.html``).

Unit tests on hand-made verdict rows and benchmark files; a toy workflow (two targets, no model) that
builds the report through rules/report.smk in seconds; and the report of the tiny workflow (marked
``workflow``).  The report is opened in headless Chromium (Debian package ``chromium``); those tests
skip when it is not installed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import warnings
from html import unescape
from pathlib import Path

import pytest

from replicate import report
from workflow_utils import ROOT, snakemake

TSV_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"

ROW = {"paper_key": "toy", "target": "table1", "paper": "mean rho: raw 0.13 | flow *0.70*", "marker": "exact",
       "where": "Table 1", "finding": "flow >= rollout > raw_ in the upper layers",
       "ours": "raw -0.11, rollout 0.35, flow 0.43 {{ x }} {% if %} {#", "verdict": "reproduced",
       "detail": "finding: flow >= rollout: yes", "model": "6-layer `toy` transformer", "data": "agreement::"}
NOT_RUN = {"paper_key": "toy", "target": "fig9", "paper": "- a figure of the paper", "marker": "approx", "where": "",
           "finding": "", "ours": "", "verdict": "not run", "detail": "1. needs the paper scale (config/paper.yaml)",
           "model": "", "data": ""}


def render_like_snakemake(rst: str, halt_level: int = 2) -> str:
    """Snakemake renders a caption (and the first page) with Jinja2, then docutils: neither may choke on
    our text (halt_level 2: a docutils warning fails)."""
    from docutils.core import publish_parts
    from jinja2 import Environment

    text = Environment(trim_blocks=True, lstrip_blocks=True).from_string(rst).render()
    with warnings.catch_warnings():  # docutils 0.22: writer_name -> writer (Snakemake passes writer_name)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return publish_parts(text, writer_name="html", settings_overrides={"halt_level": halt_level,
                                                                           "report_level": 5})["body"]


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium); the HTML report is not opened")


def dump_dom(html: Path, tmp: Path, budget_ms: int = 10000) -> str:
    """The DOM of ``html`` after its scripts ran, from headless Chromium."""
    res = subprocess.run(
        [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", f"--user-data-dir={tmp / 'chromium-profile'}", f"--virtual-time-budget={budget_ms}",
         "--dump-dom", html.resolve().as_uri()],
        capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


# ---------------------------------------------------------------------------------------- escaping, captions


@pytest.mark.parametrize("text", ["- a bullet", "1. first", "A. Einstein", "(a) one", "#. auto", ".. comment",
                                  "x :: y::", "*a* `b` _c_ |d| [1]_ <e>", "{{ x }} {% if %} {# c", "back\\slash"])
def test_rst_text_is_literal(text):
    html = render_like_snakemake(f"Before.\n\n{report.rst_text(text)}\n")
    assert "<ul" not in html and "<ol" not in html and "<em>" not in html and "<pre" not in html
    plain = re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert " ".join(text.split()) in plain.replace("\n", " ")


def test_caption_gives_claim_paper_marker_ours_verdict(tmp_path):
    path = tmp_path / "toy" / "table1.caption.rst"
    call = {"model": ROW["model"], "data": ROW["data"], "params": {}}
    report.write_caption(path, "toy", "table1", ROW, call)
    text = path.read_text()
    report.write_caption(tmp_path / "again.rst", "toy", "table1", ROW, call)
    assert (tmp_path / "again.rst").read_text() == text  # deterministic
    assert not re.search(r"20\d\d-\d\d-\d\d|\d\d:\d\d:\d\d", text)  # no timestamp
    html = render_like_snakemake(text)
    plain = re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    for want in ("toy/table1", "Claim: flow >= rollout > raw_ in the upper layers",
                 "Paper (Table 1, marker: exact): mean rho: raw 0.13 | flow *0.70*",
                 "Ours: raw -0.11, rollout 0.35, flow 0.43 {{ x }} {% if %} {#", "Verdict: reproduced",
                 "Notes: finding: flow >= rollout: yes", "Model: 6-layer `toy` transformer", "Data: agreement::"):
        assert want in plain, (want, plain)
    assert "<strong>reproduced</strong>" in html


def test_caption_of_a_row_without_numbers(tmp_path):
    text = report.caption("toy", "fig9", NOT_RUN, {"model": "", "data": ""})
    plain = re.sub(r"<[^>]+>", "", render_like_snakemake(text))
    assert "Paper (marker: approx): - a figure of the paper" in plain
    assert "Verdict: not run" in plain and "Notes: 1. needs the paper scale" in plain
    assert "Model:" not in plain


def test_caption_and_scorecard_give_the_explanation(tmp_path):
    row = {**ROW, "explanation": "What ran: [CLS] kept (sva.keep_cls: true) | a *stand-in* {{ y }}"}
    plain = re.sub(r"<[^>]+>", "", render_like_snakemake(report.caption("toy", "table1", row, {})))
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert "What was run: What ran: [CLS] kept (sva.keep_cls: true) | a *stand-in* {{ y }}" in plain, plain
    assert plain.index("What was run:") < plain.index("Notes:")
    md = tmp_path / "scorecard.md"
    report.scorecard(write_rows(tmp_path, [row]), md, {})
    assert ("| What ran: [CLS] kept (sva.keep_cls: true) \\| a *stand-in* {{ y }} finding: flow >= rollout: yes |"
            in md.read_text())


# ---------------------------------------------------------------------------------------- scorecard


def write_rows(tmp_path, rows):
    files = []
    for r in rows:
        f = tmp_path / "results" / r["paper_key"] / f"{r['target']}.verdict.json"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(r))
        files.append(str(f))
    return files


def scorecard_verdicts(md: str) -> dict:
    """target -> verdict, the columns found by their header names (as tests/test_reproduce.py does)."""
    lines = md.splitlines()
    cells = lambda line: [c.strip() for c in re.split(r"(?<!\\)\|", line)]  # noqa: E731 (a cell may hold "\|")
    header = cells(next(line for line in lines if line.startswith("| target |")))
    t, v = header.index("target"), header.index("verdict")
    rows = [cells(line) for line in lines if line.startswith("| `")]
    return {r[t].strip(): r[v].strip() for r in rows}


def test_scorecard_has_marker_column(tmp_path):
    files = write_rows(tmp_path, [ROW, NOT_RUN])
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"test_accuracy": 0.9, "n_test": 10, "n_train": 40}))
    md = tmp_path / "scorecard.md"
    report.scorecard(sorted(files), md, {"scale": "test", "paper_values": {"toy model": "0.96"},
                                         "inputs": {"toy model": str(metrics)}})
    text = md.read_text()
    assert "| target | paper | marker | ours | verdict | model / data | notes |" in text
    assert scorecard_verdicts(text) == {"`toy/fig9`": "**not run**", "`toy/table1`": "**reproduced**"}
    assert "| `toy/table1` | Table 1: mean rho: raw 0.13 \\| flow *0.70* | exact |" in text
    assert "Totals: reproduced: 1, not run: 1" in text
    assert "| toy model | test accuracy 0.900 on 10 examples; trained on 40 | 0.96 |" in text


# ---------------------------------------------------------------------------------------- first page


def test_benchmarks(tmp_path):
    bench = tmp_path / "bench"
    (bench / "toy").mkdir(parents=True)
    (bench / "toy" / "table1.tsv").write_text(TSV_HEADER + "8.18\t0:00:08\t607.14\t1\t1\t1\t1\t1\t86\t7.54\n")
    (bench / "prepare.tsv").write_text(TSV_HEADER + "10\t0:00:10\tNA\t-\t-\t-\t-\t-\t-\t-\n"
                                                    "20\t0:00:20\tNA\t-\t-\t-\t-\t-\t-\t-\n")
    (bench / "empty.tsv").write_text(TSV_HEADER)
    got = report.benchmarks(bench)
    assert [b["job"] for b in got] == ["prepare", "toy/table1"]
    assert got[0] == {"job": "prepare", "repeats": 2, "s": 15.0, "max_rss": None, "cpu_time": None}
    assert got[1]["max_rss"] == pytest.approx(607.14) and got[1]["s"] == pytest.approx(8.18)
    assert report.benchmarks(tmp_path / "absent") == []
    # the job's own log (logs/<job>.log beside logs/bench/) ends with its exact CPU time: it replaces the sample
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "table1.log").write_text("drawing\nreplicate resources: cpu_s=8.02 max_rss_mb=640\n")
    exact = report.benchmarks(bench)[1]
    assert exact["cpu_time"] == pytest.approx(8.02) and exact["max_rss"] == pytest.approx(640)
    assert report.job_resources(tmp_path / "toy" / "table1.log") == {"cpu_s": 8.02, "max_rss_mb": 640.0}
    assert report.job_resources(tmp_path / "prepare.log") is None


@pytest.fixture
def overview_files(tmp_path):
    files = write_rows(tmp_path, [ROW, NOT_RUN])
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"instances": 100, "splits": [80, 10, 10],
                                   "attractor_histogram": {"0": 90, "1": 10}}))
    bench = tmp_path / "logs" / "bench"
    (bench / "toy").mkdir(parents=True)
    (bench / "toy" / "table1.tsv").write_text(TSV_HEADER + "3725\t1:02:05\t2048.4\t1\t1\t1\t1\t1\t86\t3000\n")
    out = {"rst": tmp_path / "results" / "report" / "overview.rst", "html": tmp_path / "results" / "report" / "o.html"}
    config = {"scale": "test", "papers": ["toy"], "paths": {"results": "results"}, "toy": {"examples": 8}}
    report.overview({f"v{i}": f for i, f in enumerate(files)} | {"agreement data": str(metrics)},
                    {k: str(v) for k, v in out.items()},
                    {"config": config, "config_files": ["config/config.yaml"], "bench_dir": str(bench),
                     "paper_values": {"agreement data": "~1.58M sentences"}})
    return out


def test_overview_pages(overview_files):
    rst = overview_files["rst"].read_text()
    plain = re.sub(r"<[^>]+>", "", render_like_snakemake(rst))
    for want in ("Configuration: config/config.yaml (scale: test; papers: toy)", "git commit ",
                 "Verdicts: reproduced: 1, not run: 1", "toy/table1", "Table 1", "exact", "not run",
                 "agreement data", "~1.58M sentences", "1:02:05", "2048", "python ", "snakemake ",
                 "examples: 8"):
        assert want in plain, want
    html = overview_files["html"].read_text()
    assert html.count("<table") == 3 and "Docutils" in html  # scorecard, models and data, run times
    for want in ("mean rho: raw 0.13 | flow *0.70*", "raw -0.11, rollout 0.35", "finding: flow &gt;= rollout: yes",
                 "1:02:05", "examples: 8"):
        assert want in html, want


def front_page(tmp_path, with_overview: bool) -> str:
    """rules/report/front.rst as Snakemake renders it (cwd: the workflow directory)."""
    class Snakemake:
        config = {"papers": ["toy"], "scale": "test", "paths": {"results": "results"}}

    class File:
        target = "overview.html"

    from docutils.core import publish_parts
    from jinja2 import Environment

    text = (ROOT / "rules" / "report" / "front.rst").read_text() + "\n\n.. _Overview: javascript:void(0)\n"
    text = Environment(trim_blocks=True, lstrip_blocks=True).from_string(text).render(
        snakemake=Snakemake, categories={}, files=[File()] if with_overview else [])
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return publish_parts(text, writer_name="html", settings_overrides={"halt_level": 2, "report_level": 5})[
                "html_body"]
    finally:
        os.chdir(cwd)


def test_front_page_includes_the_overview(tmp_path, overview_files):
    html = front_page(tmp_path, with_overview=True)
    assert "Replication of transformer-interpretability papers" in html and "toy/table1" in html
    assert "<details>" in html and "1:02:05" in html and ".prose" in html
    html = front_page(tmp_path, with_overview=False)
    assert "report_overview" in html and "toy/table1" not in html


@needs_chromium
def test_overview_page_opens_in_chromium(tmp_path, overview_files):
    dom = dump_dom(overview_files["html"], tmp_path)
    assert "<table" in dom and "toy/table1" in dom and "Run time and peak memory" in dom


# ---------------------------------------------------------------------------------------- Snakemake --report

def cli_has_report_verb() -> bool:
    res = subprocess.run([sys.executable, "-m", "replicate", "report", "--help"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, cwd=ROOT)
    return res.returncode == 0


# The browser-side check: every PNG of the report decodes in Chromium (naturalWidth > 0), and the app shows
# one figure with its caption, as a click on it would.
CHECK_SCRIPT = """
<script>
window.addEventListener("load", async () => {
  const pause = ms => new Promise(done => setTimeout(done, ms));
  await pause(1000);
  const front = document.createElement("div");  // the first page as rendered, kept before the view changes
  front.id = "replicate-front";
  front.innerHTML = document.querySelector("#app").innerHTML;
  const sizes = {};
  for (const [path, r] of Object.entries(results)) {
    if (r.mime_type !== "image/png") continue;
    const img = new Image();
    await new Promise(done => { img.onload = img.onerror = done; img.src = r.data_uri; });
    sizes[path] = [img.naturalWidth, img.naturalHeight];
  }
  const first = Object.keys(sizes).sort()[0];
  if (first) {
    app.setView({navbarMode: "resultinfo", resultPath: first, content: "img", contentPath: results[first].data_uri});
  }
  await pause(1000);
  const pre = document.createElement("pre");
  pre.id = "replicate-check";
  pre.textContent = JSON.stringify({sizes: sizes, shown: first || null});
  document.body.appendChild(pre);
  document.body.appendChild(front);
});
</script>
"""


def rendered_app(dom: str) -> str:
    """What React rendered into ``<div id="app">`` (up to the first script after it: not the data)."""
    app = dom.split('<div id="app">', 1)[1].split("<script", 1)[0]
    assert len(app) > 1000, "the report did not render (empty #app)"
    return app


def check_report(workdir: Path, page: Path, tmp: Path, figures: list[str]) -> dict:
    """The report is self-contained (every figure embedded byte for byte) and renders in Chromium:
    the first page (front.rst and the overview), every figure decoded, one shown with its caption."""
    text = page.read_text()
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', text), "not self-contained"
    results = json.loads(re.search(r'<script id="results">\s*var results = (.*?);\s*</script>', text, re.S).group(1))
    for fig in figures:
        assert fig in results, f"{fig} is not a report item"
        entry = results[fig]
        assert entry["mime_type"] == "image/png"
        assert base64.b64decode(entry["data_uri"].split(",", 1)[1]) == (workdir / fig).read_bytes(), fig
        assert "Verdict" in entry["caption"] and "Claim" in entry["caption"], entry["caption"]
    probe = tmp / "report-probe.html"
    head, tail = text.rsplit("</body>", 1)  # the page's own </body> (a library's source holds another)
    probe.write_text(head + CHECK_SCRIPT + "</body>" + tail)
    dom = dump_dom(probe, tmp)
    app = rendered_app(dom)
    front = dom.split('<div id="replicate-front">', 1)[1]
    assert "Replication of transformer-interpretability papers" in front, "the first page did not render"
    assert "Run time and peak memory" in front and "Package versions" in front and "<table" in front
    check = json.loads(unescape(re.search(r'<pre id="replicate-check">(.*?)</pre>', dom, re.S).group(1)))
    for fig in figures:
        w, h = check["sizes"][fig]
        assert w > 0 and h > 0, f"{fig} does not decode in Chromium"
    return {"dom": dom, "app": app, "front": front, "check": check, "results": results}


TOY_SNAKEFILE = """
import os
from replicate import spec as S

configfile: "config.yaml"

FIGURES, RESULTS, LOGS = (config["paths"][k] for k in ("figures", "results", "logs"))
SCORECARD = f"{FIGURES}/scorecard.md"
PAPERS = {"toy": S.Paper("toy", "A toy paper", runs=[], summary={"toy data": (f"{RESULTS}/toy/stats.json", "~1M")},
                         targets=[S.Target("fig1", func="-", model="toy model", data="toy data", paper="toy"),
                                  S.Target("fig2", func="-", model="toy model", data="toy data", paper="toy"),
                                  S.Target("table9", not_run="needs the paper scale", paper="toy")])}


def params_json(obj):
    import json
    return "'" + json.dumps(obj, sort_keys=True).replace("'", "'\\\\''") + "'"


include: "rules/report.smk"


rule all:
    input: SCORECARD, REPORT_PAGES, [f"{FIGURES}/toy/{t}.png" for t in ("fig1", "fig2")], VERDICTS


rule toy_stats:
    output: f"{RESULTS}/toy/stats.json"
    run:
        open(output[0], "w").write('{"instances": 3, "splits": [1, 1, 1], "attractor_histogram": {"0": 3}}')


for _t in PAPERS["toy"].targets:
    _out = {"verdict": f"{RESULTS}/toy/{_t.id}.verdict.json"}
    if _t.not_run is None:
        _out["png"] = report(f"{FIGURES}/toy/{_t.id}.png",
                             caption=os.path.abspath(f"{RESULTS}/toy/{_t.id}.caption.rst"),
                             category="toy", subcategory=_t.id,
                             labels={"target": f"toy/{_t.id}", "model": _t.model, "method": "none"})
        _out["caption"] = f"{RESULTS}/toy/{_t.id}.caption.rst"

    rule:
        name: f"toy_{_t.id}"
        input: f"{RESULTS}/toy/stats.json"
        output: **_out
        params: t=_t
        benchmark: f"{LOGS}/bench/toy/{_t.id}.tsv"
        run:
            import json, struct, zlib
            from replicate.report import write_caption
            from replicate.verdicts import judge
            t = params.t
            entry = {"marker": "exact", "where": "Figure 1", "statement": "x > 0.5 | *printed*",
                     "claim": {"kind": "compare", "finding": "x above one half", "all": [["x", ">", 0.5]]}}
            if t.not_run:
                row = judge(entry, not_run=t.not_run)
            else:
                row = judge(entry, {"values": {"x": 0.7}, "ours": "x = 0.7 {{ raw }}"})
                def chunk(kind, data):
                    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
                raw = b"".join(b"\\x00" + bytes([40, 90, 160]) * 4 for _ in range(3))
                png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0))
                       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
                open(output.png, "wb").write(png)
                write_caption(output.caption, "toy", t.id, row, {"model": t.model, "data": t.data})
            json.dump({"paper_key": "toy", "target": t.id, "model": t.model, "data": t.data, **row},
                      open(output.verdict, "w"))
"""


@pytest.fixture(scope="module")
def toy_workflow(tmp_path_factory):
    if not cli_has_report_verb():
        pytest.skip("python -m replicate has no `report` verb yet (the CLI adapter onto report.overview)")
    wf = tmp_path_factory.mktemp("toy")
    shutil.copytree(ROOT / "rules" / "report", wf / "rules" / "report")
    shutil.copy(ROOT / "rules" / "report.smk", wf / "rules" / "report.smk")
    shutil.copytree(ROOT / "envs", wf / "envs")  # the rules' conda: files (metadata records them)
    (wf / "Snakefile").write_text(TOY_SNAKEFILE)
    (wf / "config.yaml").write_text(textwrap.dedent("""\
        scale: test
        papers: [toy]
        paths: {data: data, models: models, results: results, figures: figures, logs: logs}
        """))
    env_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env_path if env_path else "")
    try:
        res = snakemake(wf, "--cores", "1", timeout=600)
        assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
        res = snakemake(wf, "--report", "report.html", timeout=600)
        assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    finally:
        if env_path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = env_path
    return wf


@needs_chromium
def test_toy_report_renders(toy_workflow, tmp_path):
    got = check_report(toy_workflow, toy_workflow / "report.html", tmp_path, ["figures/toy/fig1.png",
                                                                             "figures/toy/fig2.png"])
    app = got["app"]
    assert "toy/fig1" in got["front"] and "toy/table9" in got["front"]  # the scorecard, the not-run row too
    assert "Verdict" in app and "x above one half" in app  # the shown figure's caption
    assert '<img src="data:image/png;' in app  # and the figure itself
    results = got["results"]
    assert results["figures/toy/fig1.png"]["labels"] == {"target": "toy/fig1", "model": "toy model", "method": "none"}
    assert any(k.endswith("report/overview.html") for k in results)
    card = (toy_workflow / "figures" / "scorecard.md").read_text()
    assert scorecard_verdicts(card) == {"`toy/fig1`": "**reproduced**", "`toy/fig2`": "**reproduced**",
                                        "`toy/table9`": "**not run**"}


# ---------------------------------------------------------------------------------------- the tiny workflow


@pytest.mark.workflow
@needs_chromium
def test_tiny_workflow_report(tiny_run, tmp_path_factory):
    """`snakemake --report report.html` after the tiny workflow: every target's figure is in the
    self-contained report, labelled and captioned, and the page renders in Chromium."""
    wf = tiny_run
    configfile = str(ROOT / "tests/data/config_tiny.yaml")
    res = snakemake(wf, "--configfile", configfile, "--report", "report.html")
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]

    figures = sorted(str(p.relative_to(wf)) for p in (wf / "figures").rglob("*.png"))
    assert len(figures) >= 7, figures  # at least abnar2020flow's
    got = check_report(wf, wf / "report.html", tmp_path_factory.mktemp("chromium"), figures)
    for fig in figures:
        labels = got["results"][fig]["labels"]
        assert labels["target"] == "/".join(Path(fig).with_suffix("").parts[-2:]) and labels["model"], labels

