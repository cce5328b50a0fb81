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
        log:
            f"{LOGS}/{_run.owner}/{_run.name}.log",
        benchmark:
            f"{LOGS}/bench/{_run.owner}/{_run.name}.tsv"
        threads: _run.threads
        resources:
            mem_mb=_run.mem_mb,
        conda:
            "../envs/replicate.yaml"
        shell:
            f"python -m replicate run {_run.owner} {_run.name} --threads {{threads}} --spec {{params.spec}} > {{log}} 2>&1"
