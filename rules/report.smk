# The scorecard (figures/scorecard.md, committed) and the HTML report of a finished run:
#   snakemake --report report.html
# Every target's figure is a report item (rules/targets.smk: category = paper, subcategory = target, labels
# target / model / method, caption = results/<paper>/<target>.caption.rst written by the judge). The first
# page is rules/report/front.rst; it includes the overview that rule report_overview writes (scorecard,
# configuration, git commit, package versions, run time and peak memory of every job from logs/bench).
import shlex


report: "report/front.rst"


SUMMARY = {}  # scorecard "models and data" rows: name -> (metrics file, what the paper reports)
for _paper in PAPERS.values():
    for _name, _entry in _paper.summary.items():
        SUMMARY.setdefault(_name, tuple(_entry))  # a model that several papers read: one row
VERDICTS = [t.outputs(FIGURES, RESULTS)["verdict"] for paper in PAPERS.values() for t in paper.targets]
REPORT_DIR = f"{RESULTS}/report"
REPORT_PAGES = [f"{REPORT_DIR}/overview.rst", f"{REPORT_DIR}/overview.html"]  # rule all asks for them
_PAPER_VALUES = {name: paper for name, (_, paper) in SUMMARY.items()}
_REPORT_INPUTS = " ".join(
    [shlex.quote(f"v{i}={p}") for i, p in enumerate(VERDICTS)]
    + [shlex.quote(f"{name}={path}") for name, (path, _) in SUMMARY.items()]
)


rule scorecard:
    input:
        VERDICTS,
        [path for path, _ in SUMMARY.values()],
    output:
        md=SCORECARD,
    params:
        cfg=params_json({"scale": config["scale"], "paper_values": _PAPER_VALUES}),
        args=_REPORT_INPUTS,
    log:
        f"{LOGS}/scorecard.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate scorecard --in {params.args} --out md={output.md} --params {params.cfg} > {log} 2>&1"


rule report_overview:
    input:
        VERDICTS,
        [path for path, _ in SUMMARY.values()],
    output:
        rst=REPORT_PAGES[0],
        html=report(REPORT_PAGES[1], caption="report/overview_caption.rst", category="Overview",
                    subcategory="this run", labels={"page": "scorecard, run times, configuration"}),
    params:
        cfg=params_json({"config": config, "config_files": [str(f) for f in workflow.configfiles], "bench_dir": f"{LOGS}/bench",
                         "scale": config["scale"], "paper_values": _PAPER_VALUES}),
        args=_REPORT_INPUTS,
    log:
        f"{LOGS}/report_overview.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate report --in {params.args} --out rst={output.rst} html={output.html} --params {params.cfg}"
        " > {log} 2>&1"
