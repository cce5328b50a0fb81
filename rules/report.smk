rule scorecard:
    input:
        verdicts(),
    output:
        md=SCORECARD,
    params:
        cfg=params_json({"scale": config["scale"]}),
        args=lambda w, input: " ".join(f"v{i}={p}" for i, p in enumerate(input)),
    log:
        f"{LOGS}/scorecard.log",
    shell:
        "{CLI} scorecard --in {params.args} --out md={output.md} --params {params.cfg} > {log} 2>&1"
