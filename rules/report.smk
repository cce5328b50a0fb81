# Models and data summarised under the scorecard: name -> (file, what the paper reports).
SCORECARD_INPUTS = {
    "agreement data": (f"{DATA}/agreement/stats.json", "Linzen et al. (2016): ~1.58M sentences"),
    "verb-number transformer": (
        f"{MODELS}/agreement_transformer/agreement/seed{SEED}/metrics.json",
        "test accuracy 0.96 (Abnar & Zuidema 2020, §3)",
    ),
}
if isinstance(config["abnar2020flow"]["table3"]["model"], dict):
    _ft = config["abnar2020flow"]["table3"]["model"]
    SCORECARD_INPUTS[f"{_ft['finetune']} fine-tuned ({_ft['task']})"] = (
        f"{MODELS}/{_ft['finetune']}/{_ft['task']}/seed{SEED}/metrics.json",
        "DistilBERT SST-2 (hub model, not trained in the paper)",
    )

if "michel2019" in config["papers"]:
    _mm = config["michel2019"]["model"]
    SCORECARD_INPUTS.setdefault(f"{_mm['finetune']} fine-tuned ({_mm['task']})", (
        f"{MODELS}/{_mm['finetune']}/{_mm['task']}/seed{SEED}/metrics.json",
        "michel2019: BERT-base fine-tuned on MNLI (dev-m accuracy ~0.83, read off fig1(b) [approx])",
    ))


rule not_run_verdict:
    output:
        verdict=f"{RESULTS}/{{paper}}/{{stem}}.notrun.verdict.json",
    wildcard_constraints:
        paper="|".join(NOT_RUN),
    params:
        cfg=lambda w: params_json({"paper": w.paper, "figure": w.stem, "model_note": "",
                                   "data_note": f"scale: {config['scale']}"}),
    log:
        f"{LOGS}/{{paper}}/{{stem}}.notrun.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate not-run --out verdict={output.verdict} --params {params.cfg} > {log} 2>&1"


rule scorecard:
    input:
        verdicts(),
        [path for path, _ in SCORECARD_INPUTS.values()],
    output:
        md=SCORECARD,
    params:
        cfg=params_json(
            {"scale": config["scale"], "paper_values": {name: paper for name, (_, paper) in SCORECARD_INPUTS.items()}}
        ),
        args=" ".join(
            [f"v{i}={p}" for i, p in enumerate(verdicts())]
            + [f"'{name}={path}'" for name, (path, _) in SCORECARD_INPUTS.items()]
        ),
    log:
        f"{LOGS}/scorecard.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate scorecard --in {params.args} --out md={output.md} --params {params.cfg} > {log} 2>&1"
