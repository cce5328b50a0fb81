# One rule per declared target: `<paper>_<target>` draws figures/<paper>/<target>.png/.pdf/.csv and judges
# it (results/<paper>/<target>.verdict.json, not committed); a target this configuration does not produce
# writes its "not run" verdict only.
for _paper in PAPERS.values():
    for _t in _paper.targets:
        _out = _t.outputs(FIGURES, RESULTS)
        if "png" in _out:
            _out["png"] = report(_out["png"], caption=os.path.abspath(_out["caption"]),
                                 category=_paper.key, subcategory=_t.id,
                                 labels={"target": f"{_paper.key}/{_t.id}", "model": _t.model or "-",
                                         "method": _t.method or "-"})

        rule:
            name:
                f"{_paper.key}_{_t.id}"
            input:
                **_t.inputs,
                _claims=S.printed_path(_paper.key),  # a changed claim re-judges the target
            output:
                **_out,
            params:
                spec=params_json(_t.call(FIGURES, RESULTS)),
                paper=_paper.key,
                target=_t.id,
            log:
                f"{LOGS}/{_paper.key}/{_t.id}.log",
            benchmark:
                f"{LOGS}/bench/{_paper.key}/{_t.id}.tsv"
            threads: _t.threads
            resources:
                mem_mb=_t.mem_mb,
            conda:
                "../envs/replicate.yaml"
            shell:
                # a plain string: Snakemake evaluates the shell expression when the job runs, after the loop has moved on
                "python -m replicate target {params.paper} {params.target} --threads {threads} --spec {params.spec} > {log} 2>&1"
