"""Command line used by every Snakemake rule: ``python -m replicate STEP --in k=PATH --out k=PATH --params JSON``.

Rules stay thin: they name inputs, outputs and params; each step here is a short adapter
onto the package's functions.  Outputs are removed again if a step fails, so nothing
half-written is left looking complete.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path


def _pairs(items):
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected key=path, got {item!r}")
        out[key] = value
    return out


def _verdict(path, paper_key, target, result: dict, params: dict) -> None:
    from replicate.data.prepare import write_json

    write_json(path, {"paper_key": paper_key, "target": target, "model": params.get("model_note", ""),
                      "data": params.get("data_note", ""), **result})


def step_prepare_agreement(i, o, p):
    from replicate.data.prepare import prepare_agreement

    print(json.dumps(prepare_agreement(p, o["dir"]), indent=1))


def step_prepare_sentences(i, o, p):
    from replicate.data.prepare import prepare_sentences

    print(json.dumps(prepare_sentences(p, o["dir"]), indent=1))


def step_train_agreement(i, o, p):
    from replicate.models.training import train_agreement_classifier

    m = train_agreement_classifier(i["data"], p, o["dir"])
    print(f"test accuracy {m['test_accuracy']:.3f} (majority {m['majority_baseline']:.3f})")


def step_finetune(i, o, p):
    from replicate.models.training import finetune_classifier

    m = finetune_classifier(p["model"], i["data"], p, o["dir"])
    main = "corr" if p.get("regression") else "accuracy"
    print(f"test {main} {m[f'test_{main}_before']:.3f} -> {m[f'test_{main}']:.3f}")


def step_abnar_sva(i, o, p):
    from replicate.papers import abnar2020flow as paper

    paper.sva_correlations(i["model"], i["data"], p).to_csv(o["csv"], index=False)


def step_abnar_sst(i, o, p):
    from replicate.papers import abnar2020flow as paper

    paper.sst_correlations({"source": "local", "path": i["model"]} if "model" in i else p["model"], i["data"], p).to_csv(
        o["csv"], index=False)


def step_abnar_table(i, o, p):
    import pandas as pd

    from replicate import plots
    from replicate.papers import abnar2020flow as paper

    df = pd.read_csv(i["csv"])
    table = p["table"]
    if table == "table3":
        summary = paper.sst_summary(df, p["aggregate"], p["target"])
        extension = paper.sst_summary(df, "cls", "true_label").assign(variant="cls row, true-label logit")
        summary.assign(variant=f"{p['aggregate']} over rows, {p['target']}").pipe(
            lambda s: pd.concat([s, extension])).to_csv(o["csv"], index=False)
        result = paper.verdict_upper_layers(summary, p["upper_layers"])
        other = paper.sst_summary(df, p["aggregate"], "true_label")
        result["detail"] += (f"; with the true-label logit instead: {paper.upper_means(other, p['upper_layers'])}"
                             f"; CLS row and true label: {paper.upper_means(extension, p['upper_layers'])}")
    else:
        summary = paper.summarise(df[df["importance"] == p["importance"]], table)
        summary.to_csv(o["csv"], index=False)
        result = paper.verdict_upper_layers(summary, p["upper_layers"])
        if table == "table2":  # the paper does not say which gradient: report the other one too
            imp = "inputgrad" if p["importance"] == "grad" else "grad"
            alt = paper.summarise(df[df["importance"] == imp], table)
            result["detail"] += f"; with importance = {imp} instead: {paper.upper_means(alt, p['upper_layers'])}"
    plots.layer_curves(summary, f"{paper.KEY}/{table}: {paper.PAPER[table]['what']}\n(ours: {p['data_note']})", o["png"])
    _verdict(o["verdict"], paper.KEY, table, result, p)


def step_abnar_figure(i, o, p):
    from replicate.papers import abnar2020flow as paper

    fig = p["figure"]
    if fig == "fig4":
        result = paper.fig4(p, o["png"], o["csv"])
    else:
        result = getattr(paper, fig)(i["model"], i["data"], p, o["png"], o["csv"])
    _verdict(o["verdict"], paper.KEY, fig, result, p)


def step_prepare_pairs(i, o, p):
    from replicate.data.prepare import prepare_pairs

    print(json.dumps(prepare_pairs(p, o["pairs"]), indent=1))


def _paper(key):
    import importlib

    return importlib.import_module(f"replicate.papers.{key}")


def step_prepare_deps(i, o, p):
    from replicate.data.prepare import prepare_deps

    print(json.dumps(prepare_deps(p, i["source"], o["deps"]), indent=1))


def step_deps_run(i, o, p):
    from replicate.papers import pascual2021

    print(json.dumps(pascual2021.deps_run(i["deps"], p, o["npz"]), indent=1))


def step_hta(i, o, p):
    from replicate.papers import brunner2020

    print(json.dumps(brunner2020.hta_run(i["pairs"], p, o["npz"]), indent=1))


def step_paper_figure(i, o, p):
    """One figure of ``p['paper']`` (brunner2020, pascual2021): ``paper.<figure>(input, params, png, csv)``
    with the one input file (pairs, HTA run or dependency run)."""
    paper = _paper(p["paper"])
    if len(i) != 1:
        raise SystemExit(f"paper-figure takes one input, got {sorted(i)}")
    (source,) = i.values()
    result = getattr(paper, p["figure"])(source, p, o["png"], o["csv"])
    _verdict(o["verdict"], paper.KEY, p["figure"], result, p)
    print(json.dumps(result, indent=1))


def step_not_run(i, o, p):
    """A scorecard row for a target that this configuration does not produce (and why)."""
    from replicate.report import not_run_row

    paper = _paper(p["paper"])
    _verdict(o["verdict"], paper.KEY, p["figure"], not_run_row(paper, p["figure"]), p)


def step_head_analysis(i, o, p):
    """The one model pass of a head paper (michel2019, kovaleva2019): sweeps, importance, statistics."""
    from replicate.data.prepare import write_json

    res = _paper(p["paper"]).analysis(i["model"], i["data"], p)
    arrays = res.pop("arrays", None)
    if arrays is not None:
        import numpy as np

        tmp = Path(o["npz"]).with_name(f".{Path(o['npz']).name}")
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, o["npz"])
    write_json(o["json"], res)
    print(f"baseline {res['baseline']:.3f}; single-head sweep {res['time_single_sweep_s']:.1f} s")


def step_head_curves(i, o, p):
    """Michel fig6: the pruning curves of one task's fine-tuned classifier."""
    from replicate.data.prepare import write_json

    res = _paper(p["paper"]).curves(i["model"], i["data"], p)
    write_json(o["json"], res)
    print(f"{res['task']}: {res['metric']} {res['baseline']:.3f}; importance {res['time_importance_s']:.1f} s, "
          f"curves {res['time_curves_s']:.1f} s")


def step_head_domains(i, o, p):
    """Michel fig2: per-head effects on two domains (agreement corpora, or two tasks' test splits)."""
    from replicate.data.prepare import write_json

    paper = _paper(p["paper"])
    if "agreement" in i:
        res = paper.domains(i["model"], i["agreement"], [f"{i['exclude']}/{s}.tsv" for s in ("train", "valid")], p)
    else:
        res = paper.domains(i["model"], None, [], p, task_dirs={k: v for k, v in i.items() if k != "model"})
    write_json(o["json"], res)
    print(f"{res['n_per_domain']} sentences per domain; {res['time_s']:.1f} s")


def step_head_timing(i, o, p):
    """Michel table4: inference speed before and after removing the lowest-importance heads."""
    from replicate.data.prepare import write_json

    importance = json.loads(Path(i["analysis"]).read_text())["importance"]
    res = _paper(p["paper"]).timing(i["model"], i["data"], importance, p)
    write_json(o["json"], res)
    print(json.dumps(res["rows"], indent=1))


def step_head_target(i, o, p):
    """One target of a head paper from its results: ``paper.<target>(res, params, png, csv)``; ``res`` is
    the one ``json`` input, or ``{name: contents}`` of several (michel2019 fig6: one per task)."""
    paper = _paper(p["paper"])
    if "json" in i:
        res = json.loads(Path(i["json"]).read_text())
    else:
        res = {k: json.loads(Path(v).read_text()) for k, v in i.items()}
    extra = {k: v for k, v in o.items() if k not in ("png", "csv", "verdict")}  # e.g. maps= (kovaleva2019 fig3)
    result = getattr(paper, p["target"])(res, p, o["png"], o["csv"], **extra)
    _verdict(o["verdict"], paper.KEY, p["target"], result, p)


def step_mt_prepare(i, o, p):
    """Michel MT targets: the translation data (toy reversal of Wikipedia/Lee text, or WMT from the hub)."""
    from replicate.papers import michel2019_mt

    print(json.dumps(michel2019_mt.prepare(p, o["dir"]), indent=1))


def step_mt_train(i, o, p):
    """Michel MT targets: train the toy MarianMTModel (final model + fig5 checkpoints)."""
    from replicate.papers import michel2019_mt

    res = michel2019_mt.train_toy(i["data"], p, o["dir"])
    print(json.dumps(res["curve"][-1]), f"{res['time_s']:.1f} s")


def step_mt_analysis(i, o, p):
    """Michel MT targets: sweeps, importance and pruning curves (``epochs``: fig5 over checkpoints)."""
    from replicate.data.prepare import write_json
    from replicate.papers import michel2019_mt

    model = i["model"] if "model" in i else p["mt_model_spec"]
    if p.get("epochs"):
        res = michel2019_mt.epochs({e: f"{model}/epoch{e}" for e in p["epochs"]}, i["data"], p)
    else:
        res = michel2019_mt.analysis(model, i["data"], p)
    write_json(o["json"], res)
    print(f"{res['time_s']:.1f} s")


def step_kovaleva_patterns(i, o, p):
    """Figs 1-2 of kovaleva2019: the pattern CNN over every task's maps (inputs npz_<task>, json_<task>)."""
    from replicate.data.prepare import write_json
    from replicate.papers import kovaleva2019

    npz = {k[len("npz_"):]: v for k, v in i.items() if k.startswith("npz_")}
    analyses = {k[len("json_"):]: json.loads(Path(v).read_text()) for k, v in i.items() if k.startswith("json_")}
    res = kovaleva2019.patterns_run(npz, analyses, p)
    write_json(o["json"], res)
    print(f"CNN vs rules: macro-F1 {res['macro_f1']:.3f}, accuracy {res['accuracy']:.3f}; {res['time_cnn_s']:.1f} s")


def step_kovaleva_framenet(i, o, p):
    """Figs 3-4 of kovaleva2019: the FrameNet filter and head scores (input ``sentences``: a file in the
    shipped format; none for FrameNet 1.7 through nltk)."""
    from replicate.data.prepare import write_json
    from replicate.papers import kovaleva2019_framenet

    res = kovaleva2019_framenet.framenet_run(p, i.get("sentences"))
    write_json(o["json"], res)
    print(json.dumps({"counts": res["counts"], "n": {r: {v: s["n"] for v, s in d.items()} for r, d in
                                                      res["scores"].items()}, "time_scores_s": res["time_scores_s"]}))


def step_scorecard(i, o, p):
    from replicate.report import scorecard

    scorecard(sorted(i.values()), o["md"], {**p, "inputs": {k: v for k, v in i.items() if not v.endswith(".verdict.json")}})


STEPS = {
    "prepare-agreement": step_prepare_agreement,
    "prepare-sentences": step_prepare_sentences,
    "train-agreement": step_train_agreement,
    "finetune": step_finetune,
    "abnar-sva": step_abnar_sva,
    "abnar-sst": step_abnar_sst,
    "abnar-table": step_abnar_table,
    "abnar-figure": step_abnar_figure,
    "prepare-pairs": step_prepare_pairs,
    "hta": step_hta,
    "prepare-deps": step_prepare_deps,
    "deps-run": step_deps_run,
    "paper-figure": step_paper_figure,
    "not-run": step_not_run,
    "head-analysis": step_head_analysis,
    "head-curves": step_head_curves,
    "head-domains": step_head_domains,
    "head-timing": step_head_timing,
    "head-target": step_head_target,
    "kovaleva-patterns": step_kovaleva_patterns,
    "kovaleva-framenet": step_kovaleva_framenet,
    "mt-prepare": step_mt_prepare,
    "mt-train": step_mt_train,
    "mt-analysis": step_mt_analysis,
    "scorecard": step_scorecard,
}


def _remove(paths):
    for path in paths:
        path = Path(path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="replicate", description=__doc__)
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--in", dest="inputs", nargs="*", metavar="KEY=PATH")
    parser.add_argument("--out", dest="outputs", nargs="*", metavar="KEY=PATH")
    parser.add_argument("--params", default="{}", help="JSON object")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # jobs that share cores (snakemake --cores N with 1- and 2-thread jobs) must not spin-wait:
    # with OpenMP's default active waiting, two jobs on 2 cores ran tens of times slower
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    inputs, outputs = _pairs(args.inputs), _pairs(args.outputs)
    for key, path in outputs.items():
        parent = Path(path) if key == "dir" else Path(path).parent
        parent.mkdir(parents=True, exist_ok=True)
    try:
        STEPS[args.step](inputs, outputs, json.loads(args.params))
    except BaseException:
        _remove(outputs.values())
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
