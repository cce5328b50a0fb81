# One rule per declared run (a paper's own, or shared by several papers): `<owner>_<name>`.
for _run in RUNS:

    rule:
        name:
            _run.rule
        input:
            **_run.inputs,
        output:
            **_run.outputs,
        params:
            spec=params_json(_run.call()),
            owner=_run.owner,
            name=_run.name,
        log:
            f"{LOGS}/{_run.owner}/{_run.name}.log",
        benchmark:
            f"{LOGS}/bench/{_run.owner}/{_run.name}.tsv"
        threads: _run.threads
        # runs (1) before targets (0): a long run (michel2019's importance, then its timing) starts as soon as
        # its model is ready, and the short target jobs fill the cores at the end instead of leaving one idle
        priority: _run.priority
        resources:
            mem_mb=_run.mem_mb,
        conda:
            "../envs/replicate.yaml"
        shell:
            # a plain string: Snakemake evaluates the shell expression when the job runs, after the loop has moved on
            "python -m replicate run {params.owner} {params.name} --threads {threads} --spec {params.spec} > {log} 2>&1"
