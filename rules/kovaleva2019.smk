# Kovaleva, Romanov, Rogers & Rumshisky (2019), Revealing the Dark Secrets of BERT.
KOVALEVA = config["kovaleva2019"]
TARGETS["kovaleva2019"] = ["fig5", "fig6", "fig8", "fig9"]
NOT_RUN["kovaleva2019"] = ["table1", "fig1", "fig2", "fig3", "fig4", "fig7"]

_KO = KOVALEVA["model"]
check_model_key(_KO["finetune"], "kovaleva2019.model.finetune")
KOVALEVA_MODEL = f"{MODELS}/{_KO['finetune']}/{_KO['task']}/seed{SEED}"
check_task(_KO["task"], "kovaleva2019.model.task")
KOVALEVA_NOTE = f"{_KO['finetune']} fine-tuned here on {task_note(_KO['task'])} (stand-in for BERT-base on GLUE; one task)"


rule kovaleva_analysis:
    input:
        model=f"{KOVALEVA_MODEL}/config.json",
        data=task_files(_KO["task"]),
    output:
        json=f"{RESULTS}/kovaleva2019/analysis.json",
    params:
        cfg=params_json({**KOVALEVA, "paper": "kovaleva2019", "seed": SEED, "pretrained": check_model_key(KOVALEVA["pretrained"], "kovaleva2019.pretrained")}),
        model=KOVALEVA_MODEL,
        data=f"{DATA}/tasks/{_KO['task']}",
    log:
        f"{LOGS}/kovaleva2019/analysis.log",
    benchmark:
        f"{LOGS}/bench/kovaleva2019/analysis.tsv"
    threads: 2
    resources:
        mem_mb=3000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-analysis --threads {threads} --in model={params.model} data={params.data} "
        "--out json={output.json} --params {params.cfg} > {log} 2>&1"


rule kovaleva_target:
    input:
        json=rules.kovaleva_analysis.output.json,
    output:
        png=f"{FIGURES}/kovaleva2019/{{target}}.png",
        pdf=f"{FIGURES}/kovaleva2019/{{target}}.pdf",
        csv=f"{FIGURES}/kovaleva2019/{{target}}.csv",
        verdict=f"{RESULTS}/kovaleva2019/{{target}}.verdict.json",
    wildcard_constraints:
        target="|".join(TARGETS["kovaleva2019"]),
    params:
        cfg=lambda w: params_json({**KOVALEVA, "paper": "kovaleva2019", "target": w.target, "model_note": KOVALEVA_NOTE,
                                   "data_note": f"{task_note(_KO['task'])} test split"}),
    log:
        f"{LOGS}/kovaleva2019/{{target}}.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-target --in json={input.json} --out png={output.png} csv={output.csv} "
        "verdict={output.verdict} --params {params.cfg} > {log} 2>&1"
