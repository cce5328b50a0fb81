rule train_agreement_transformer:
    input:
        rules.prepare_agreement.output,
    output:
        model=f"{MODELS}/agreement_transformer/agreement/seed{{seed}}/model.pt",
        config=f"{MODELS}/agreement_transformer/agreement/seed{{seed}}/config.json",
        metrics=f"{MODELS}/agreement_transformer/agreement/seed{{seed}}/metrics.json",
    params:
        cfg=lambda w: params_json({"seed": int(w.seed), **config["training"]["agreement_transformer"]}),
        data=f"{DATA}/agreement",
        out=lambda w: f"{MODELS}/agreement_transformer/agreement/seed{w.seed}",
    log:
        f"{LOGS}/train_agreement_transformer/seed{{seed}}.log",
    benchmark:
        f"{LOGS}/bench/train_agreement_transformer/seed{{seed}}.tsv"
    threads: 1  # one thread per job: two jobs share two cores, and the numbers do not depend on --cores
    priority: 2  # data and models first: every run waits on them (runs: 1, targets: 0)
    resources:
        mem_mb=2000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate train agreement_transformer --threads {threads} --in data={params.data} --out dir={params.out} "
        "--params {params.cfg} > {log} 2>&1"


SCRATCH = S.SCRATCH  # models/<model>_scratch/<task>/seed<k>: the same architecture fine-tuned from random init


def finetune_params(w):
    base, scratch = (w.model[: -len(SCRATCH)], True) if w.model.endswith(SCRATCH) else (w.model, False)
    cfg = {**config["training"]["finetune"], "seed": int(w.seed), "model": CTX.model_key(base, "model wildcard")}
    if "epochs" in TASKS[w.task]:  # a task's own epochs (the pre-trained and random-init twins share them)
        cfg["epochs"] = TASKS[w.task]["epochs"]
    if scratch:
        cfg["init"] = "random"
    if CTX.is_regression(w.task):  # one output, squared-error loss, scored by corr (STS-B)
        cfg["regression"] = True
    return params_json(cfg)


rule finetune_classifier:
    input:
        lambda w: CTX.task_files(w.task),
    output:
        config=f"{MODELS}/{{model}}/{{task}}/seed{{seed}}/config.json",
        weights=f"{MODELS}/{{model}}/{{task}}/seed{{seed}}/model.safetensors",
        metrics=f"{MODELS}/{{model}}/{{task}}/seed{{seed}}/metrics.json",
    wildcard_constraints:
        task="|".join(TASKS),
        model=f"({'|'.join(config['models'])})({SCRATCH})?",
    params:
        cfg=finetune_params,
        data=lambda w: f"{DATA}/tasks/{w.task}",
        out=lambda w: f"{MODELS}/{w.model}/{w.task}/seed{w.seed}",
    log:
        f"{LOGS}/finetune/{{model}}_{{task}}_seed{{seed}}.log",
    benchmark:
        f"{LOGS}/bench/finetune/{{model}}_{{task}}_seed{{seed}}.tsv"
    threads: 1  # one thread per job: two jobs share two cores, and the numbers do not depend on --cores
    priority: 2  # data and models first: every run waits on them (runs: 1, targets: 0)
    resources:
        mem_mb=4000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate train finetune --threads {threads} --in data={params.data} --out dir={params.out} "
        "--params {params.cfg} > {log} 2>&1"
