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
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate prepare-agreement --out dir={params.out} --params {params.cfg} > {log} 2>&1"


rule prepare_sentiment:
    output:
        train=f"{DATA}/sentiment/train.tsv",
        valid=f"{DATA}/sentiment/valid.tsv",
        test=f"{DATA}/sentiment/test.tsv",
        stats=f"{DATA}/sentiment/stats.json",
    params:
        cfg=params_json({"seed": SEED, **config["data"]["sentiment"]}),
        out=f"{DATA}/sentiment",
    log:
        f"{LOGS}/prepare_sentiment.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate prepare-sentences --out dir={params.out} --params {params.cfg} > {log} 2>&1"
