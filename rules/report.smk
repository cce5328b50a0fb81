# The scorecard: one row per target of the configured papers, and the models and data behind them.
SUMMARY = {name: entry for paper in PAPERS.values() for name, entry in paper.summary.items()}
VERDICTS = [t.outputs(FIGURES, RESULTS)["verdict"] for paper in PAPERS.values() for t in paper.targets]


rule scorecard:
    input:
        VERDICTS,
        [path for path, _ in SUMMARY.values()],
    output:
        md=SCORECARD,
    params:
        cfg=params_json({"scale": config["scale"], "paper_values": {name: paper for name, (_, paper) in SUMMARY.items()}}),
        args=" ".join([f"v{i}={p}" for i, p in enumerate(VERDICTS)] + [f"'{name}={path}'" for name, (path, _) in SUMMARY.items()]),
    log:
        f"{LOGS}/scorecard.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate scorecard --in {params.args} --out md={output.md} --params {params.cfg} > {log} 2>&1"
