"""Attention-pattern types (Kovaleva et al. 2019, figs 1-2): a transparent rule-based labeller
that stands in for the ~400 unreleased hand labels, and the paper's 8-layer CNN trained on it.

Classes: vertical, diagonal, vertical+diagonal, block, heterogeneous.  For a map ``A`` (T×T,
rows = queries) the labeller measures three masses, each the mean over query rows of the
attention a row puts on

* **V** (vertical): the *special* key columns, i.e. [CLS], [SEP] and punctuation;
* **D** (diagonal): the keys at the ``offsets`` (default ±1) from the query, special keys
  excluded (so V and D are disjoint);
* **B** (block): the non-special keys in the query's own block, over non-special query rows.
  Blocks are the stretches between special tokens: the segments of a sentence pair, and the
  clauses between punctuation of one sentence.  A map with a single block has B = 0 (no block
  structure to find); ``B_uniform`` is what uniform attention over the non-special keys gives.

Rules, in order (thresholds from the configuration): V ≥ joint and D ≥ joint → vertical+diagonal;
V ≥ vertical → vertical; D ≥ diagonal → diagonal; B ≥ block and B − B_uniform ≥ block_excess →
block; otherwise heterogeneous.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

CLASSES = ("vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous")
DEFAULT_RULES = {"vertical": 0.5, "diagonal": 0.5, "joint": 0.25, "block": 0.6, "block_excess": 0.2,
                 "offsets": [-1, 1]}


def blocks(special: np.ndarray) -> np.ndarray:
    """Block id of each position: stretches of non-special tokens between special ones; -1 on specials."""
    out = np.full(len(special), -1)
    b, inside = -1, False
    for i, s in enumerate(special):
        if s:
            inside = False
            continue
        if not inside:
            b, inside = b + 1, True
        out[i] = b
    return out


def rule_masses(A: np.ndarray, special: np.ndarray, offsets=(-1, 1)) -> dict[str, float]:
    """V, D, B and B_uniform of one map (see the module docstring)."""
    A = np.asarray(A, dtype=float)
    special = np.asarray(special, dtype=bool)
    T = A.shape[0]
    v = float(A[:, special].sum(1).mean())
    i, j = np.indices((T, T))
    diag = np.isin(j - i, list(offsets)) & ~special[None, :]
    d = float((A * diag).sum(1).mean())
    blk = blocks(special)
    rows = ~special
    if blk.max() < 1 or not rows.any():
        return {"V": v, "D": d, "B": 0.0, "B_uniform": 0.0}
    same = (blk[:, None] == blk[None, :]) & ~special[None, :]
    b = float((A * same).sum(1)[rows].mean())
    b_unif = float((same.sum(1) / max(int((~special).sum()), 1))[rows].mean())
    return {"V": v, "D": d, "B": b, "B_uniform": b_unif}


def rule_label(masses: dict, rules: dict | None = None) -> int:
    """Index into :data:`CLASSES` for the masses of one map."""
    r = {**DEFAULT_RULES, **(rules or {})}
    v, d = masses["V"], masses["D"]
    if v >= r["joint"] and d >= r["joint"]:
        return CLASSES.index("vertical+diagonal")
    if v >= r["vertical"]:
        return CLASSES.index("vertical")
    if d >= r["diagonal"]:
        return CLASSES.index("diagonal")
    if masses["B"] >= r["block"] and masses["B"] - masses["B_uniform"] >= r["block_excess"]:
        return CLASSES.index("block")
    return CLASSES.index("heterogeneous")


def fixed_size(A: np.ndarray, size: int) -> np.ndarray:
    """The CNN's input: the map scaled to its maximum (as a heatmap shows it), zero-padded to
    size×size; a longer map is first area-averaged down to size×size."""
    t = torch.as_tensor(np.asarray(A, dtype=np.float32))
    if t.shape[0] > size:
        t = nn.functional.adaptive_avg_pool2d(t[None, None], size)[0, 0]
    t = t / t.max().clamp_min(1e-12)
    out = torch.zeros(size, size)
    out[: t.shape[0], : t.shape[1]] = t
    return out.numpy()


class PatternCNN(nn.Module):
    """Eight 3×3 convolutions with ReLU (the paper's depth), each followed by batch normalisation
    (not stated in the paper; without it this small net did not train in a few epochs), max-pooling
    after every second one, then a linear layer on the flattened features.  Input (B, 1, size, size),
    size divisible by 16."""

    def __init__(self, size: int = 32, channels=(8, 8, 16, 16, 32, 32, 32, 32), n_classes: int = len(CLASSES)):
        super().__init__()
        if size % 16:
            raise ValueError(f"the CNN input size must be divisible by 16, got {size}")
        if len(channels) != 8:
            raise ValueError("the paper's CNN has 8 convolutional layers")
        layers, c_in = [], 1
        for k, c in enumerate(channels):
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            if k % 2 == 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * (size // 16) ** 2, n_classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def macro_f1(y_true, y_pred, n_classes: int = len(CLASSES)) -> tuple[float, list[float]]:
    """Macro-averaged F1 over the classes present in ``y_true`` or ``y_pred``, and per-class F1
    (NaN for a class absent from both)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    per = []
    for c in range(n_classes):
        tp = int(((y_true == c) & (y_pred == c)).sum())
        fp = int(((y_true != c) & (y_pred == c)).sum())
        fn = int(((y_true == c) & (y_pred != c)).sum())
        per.append(np.nan if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.nanmean(per)), per


def train_cnn(x: np.ndarray, y: np.ndarray, params: dict) -> PatternCNN:
    """Train :class:`PatternCNN` on maps ``x`` (N, size, size) with labels ``y`` (N,), on the CPU,
    deterministically (seeded, deterministic algorithms); class-weighted cross-entropy
    (inverse frequency, so rare classes count), Adam."""
    torch.manual_seed(params["seed"])
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        model = PatternCNN(params["size"])
        counts = np.bincount(y, minlength=len(CLASSES)).astype(float)
        weight = torch.as_tensor(np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(CLASSES), 0.0),
                                 dtype=torch.float32)
        weight = weight.clamp(max=params.get("max_class_weight", 20.0))
        opt = torch.optim.Adam(model.parameters(), lr=params["lr"])
        gen = torch.Generator().manual_seed(params["seed"])
        xt, yt = torch.as_tensor(x, dtype=torch.float32)[:, None], torch.as_tensor(y, dtype=torch.long)
        model.train()
        for _ in range(params["epochs"]):
            order = torch.randperm(len(xt), generator=gen)
            for k in range(0, len(xt), params["batch_size"]):
                idx = order[k : k + params["batch_size"]]
                loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx], weight=weight)
                opt.zero_grad()
                loss.backward()
                opt.step()
        model.eval()
    finally:
        torch.use_deterministic_algorithms(was)
    return model


@torch.no_grad()
def predict(model: PatternCNN, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    xt = torch.as_tensor(x, dtype=torch.float32)[:, None]
    return torch.cat([model(xt[k : k + batch_size]).argmax(1) for k in range(0, len(xt), batch_size)]).numpy()


def classify(maps: dict[str, dict], params: dict) -> dict:
    """Train the CNN on the rule labels of the maps of the training sentences of every task, and
    score it on the rest.

    ``maps[task]``: ``x`` (N, size, size) CNN inputs, ``label`` (N,) rule labels, ``sentence``
    (N,) sentence index, ``layer``/``head`` (N,), ``masses`` (N, 4) V, D, B, B_uniform.
    A task's sentences are split by ``params['train_fraction']`` (seeded); held-out maps give
    the agreement (macro-F1, confusion) and each task's class shares by the CNN (and by the rules).
    """
    rng = np.random.default_rng(params["seed"])
    train_x, train_y, held = [], [], {}
    for task in sorted(maps):
        m = maps[task]
        sentences = np.unique(m["sentence"])
        n_train = int(round(params["train_fraction"] * len(sentences)))
        if not 0 < n_train < len(sentences):
            raise ValueError(f"patterns: task {task} has {len(sentences)} sentences; train_fraction "
                             f"{params['train_fraction']} leaves no training or no held-out sentence")
        chosen = set(rng.permutation(sentences)[:n_train].tolist())
        is_train = np.array([s in chosen for s in m["sentence"]])
        train_x.append(m["x"][is_train])
        train_y.append(m["label"][is_train])
        held[task] = ~is_train
    x, y = np.concatenate(train_x), np.concatenate(train_y)
    model = train_cnn(x, y, params)
    out = {"classes": list(CLASSES), "n_train_maps": int(len(y)),
           "train_rule_counts": np.bincount(y, minlength=len(CLASSES)).tolist(), "tasks": {}}
    all_true, all_pred = [], []
    for task in sorted(maps):
        m, h = maps[task], held[task]
        pred_all = predict(model, m["x"])
        pred, true = pred_all[h], m["label"][h]
        all_true.append(true)
        all_pred.append(pred)
        f1, per = macro_f1(true, pred)
        out["tasks"][task] = {
            "n_heldout_maps": int(h.sum()),
            "cnn_shares": (np.bincount(pred, minlength=len(CLASSES)) / len(pred)).tolist(),
            "rule_shares": (np.bincount(true, minlength=len(CLASSES)) / len(true)).tolist(),
            "macro_f1": f1, "per_class_f1": per,
            "heldout": h.tolist(), "cnn_label": pred_all.tolist(),
        }
    true, pred = np.concatenate(all_true), np.concatenate(all_pred)
    f1, per = macro_f1(true, pred)
    conf = np.zeros((len(CLASSES), len(CLASSES)), dtype=int)
    np.add.at(conf, (true, pred), 1)
    out.update({"macro_f1": f1, "per_class_f1": per, "confusion": conf.tolist(),
                "accuracy": float((true == pred).mean())})
    return out


def examples(maps: dict[str, dict], result: dict, min_tokens: int = 10) -> list[dict]:
    """One held-out map per class for fig1, among maps where rules and CNN agree and (if any)
    with at least ``min_tokens`` tokens: the map whose defining mass is largest; for
    heterogeneous the one of median spread (mean of the max-scaled map), a typical case."""
    picks = []
    for c, name in enumerate(CLASSES):
        cands = []
        for task in sorted(maps):
            m, r = maps[task], result["tasks"][task]
            ok = np.asarray(r["heldout"]) & (np.asarray(r["cnn_label"]) == c) & (m["label"] == c)
            V, D, B = m["masses"][:, 0], m["masses"][:, 1], m["masses"][:, 2]
            for k in np.flatnonzero(ok):
                n = int(min(m["length"][k], m["x"].shape[-1]))
                spread = float(np.asarray(m["x"][k][:n, :n], dtype=float).mean())
                score = {"vertical": V[k], "diagonal": D[k], "vertical+diagonal": min(V[k], D[k]), "block": B[k],
                         "heterogeneous": spread}[name]
                cands.append((int(m["length"][k]) >= min_tokens, float(score), task, -int(k)))
        if not cands:
            continue
        long_enough = [x for x in cands if x[0]] or cands
        if name == "heterogeneous":
            ordered = sorted(long_enough, key=lambda x: (x[1], x[2], x[3]))
            best = ordered[(len(ordered) - 1) // 2]
        else:
            best = max(long_enough, key=lambda x: (x[1], x[2], x[3]))
        picks.append({"class": name, "task": best[2], "index": -best[3]})
    return picks
