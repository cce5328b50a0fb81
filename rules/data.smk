# Prepared data sets: data/agreement (Linzen-style agreement set) and data/tasks/<task> (classification and
# regression tasks of config data.tasks).
rule prepare_agreement:
    output:
        train=f"{DATA}/agreement/train.tsv",
        valid=f"{DATA}/agreement/valid.tsv",
        test=f"{DATA}/agreement/test.tsv",
        vocab=f"{DATA}/agreement/vocab.json",
        stats=f"{DATA}/agreement/stats.json",
    params:
        cfg=params_json({"seed": SEED, **config["data"]["agreement"]}),
        out=f"{DATA}/agreement",
    log:
        f"{LOGS}/prepare_agreement.log",
    benchmark:
        f"{LOGS}/bench/prepare_agreement.tsv"
    threads: 1
    priority: 2  # data and models first: every run waits on them (runs: 1, targets: 0)
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate prepare agreement --out dir={params.out} --params {params.cfg} > {log} 2>&1"


rule prepare_task:
    input:
        lambda w: rules.prepare_agreement.output if TASKS[w.task]["source"] == "agreement" else [],
    output:
        train=f"{DATA}/tasks/{{task}}/train.tsv",
        valid=f"{DATA}/tasks/{{task}}/valid.tsv",
        test=f"{DATA}/tasks/{{task}}/test.tsv",
        stats=f"{DATA}/tasks/{{task}}/stats.json",
    wildcard_constraints:
        task="|".join(TASKS),
    params:
        cfg=lambda w: params_json({"seed": SEED, "agreement_dir": f"{DATA}/agreement", **TASKS[w.task]}),
        out=lambda w: f"{DATA}/tasks/{w.task}",
    log:
        f"{LOGS}/prepare_task/{{task}}.log",
    benchmark:
        f"{LOGS}/bench/prepare_task/{{task}}.tsv"
    priority: 2
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate prepare task --out dir={params.out} --params {params.cfg} > {log} 2>&1"
