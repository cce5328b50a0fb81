# Michel, Levy & Neubig (2019), Are Sixteen Heads Really Better than One?
MICHEL = config["michel2019"]
TARGETS["michel2019"] = ["fig1", "table3", "table6", "fig3"]
NOT_RUN["michel2019"] = ["table1", "table2", "table4", "table5", "fig2", "fig4", "fig5", "fig6"]

_MI = MICHEL["model"]
check_model_key(_MI["finetune"], "michel2019.model.finetune")
MICHEL_MODEL = f"{MODELS}/{_MI['finetune']}/{_MI['task']}/seed{SEED}"
check_task(_MI["task"], "michel2019.model.task")
MICHEL_NOTE = f"{_MI['finetune']} fine-tuned here on {task_note(_MI['task'])} (stand-in for BERT-base MNLI)"


rule michel_analysis:
    input:
        model=f"{MICHEL_MODEL}/config.json",
        data=task_files(_MI["task"]),
    output:
        json=f"{RESULTS}/michel2019/analysis.json",
    params:
        cfg=params_json({**MICHEL, "paper": "michel2019", "seed": SEED}),
        model=MICHEL_MODEL,
        data=f"{DATA}/tasks/{_MI['task']}",
    log:
        f"{LOGS}/michel2019/analysis.log",
    benchmark:
        f"{LOGS}/bench/michel2019/analysis.tsv"
    threads: 2
    resources:
        mem_mb=3000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-analysis --threads {threads} --in model={params.model} data={params.data} "
        "--out json={output.json} --params {params.cfg} > {log} 2>&1"


rule michel_target:
    input:
        json=rules.michel_analysis.output.json,
    output:
        png=f"{FIGURES}/michel2019/{{target}}.png",
        pdf=f"{FIGURES}/michel2019/{{target}}.pdf",
        csv=f"{FIGURES}/michel2019/{{target}}.csv",
        verdict=f"{RESULTS}/michel2019/{{target}}.verdict.json",
    wildcard_constraints:
        target="|".join(TARGETS["michel2019"]),
    params:
        cfg=lambda w: params_json({**MICHEL, "paper": "michel2019", "target": w.target, "model_note": MICHEL_NOTE,
                                   "data_note": f"{task_note(_MI['task'])} test split"}),
    log:
        f"{LOGS}/michel2019/{{target}}.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-target --in json={input.json} --out png={output.png} csv={output.csv} "
        "verdict={output.verdict} --params {params.cfg} > {log} 2>&1"
