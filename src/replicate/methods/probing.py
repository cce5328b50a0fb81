"""Token identifiability (Brunner et al. 2020, §4): map hidden tokens back to input embeddings.

* :func:`fit_linear` — a linear map with bias fitted by least squares (the optimum of the L2
  loss; the paper trains with Adam and early stopping, which approaches the same optimum).
* :func:`identification_rate` — a hidden token is identified when the nearest candidate input
  token (L2 or cosine distance) of its mapped vector is its own input token.  Candidates: the
  input tokens of the same sequence (``groups``), or all input tokens given.
* :func:`train_probe` / :func:`select_probe` — the paper's trained probes: linear or MLP (one
  GELU hidden layer), L2 or cosine-distance loss (:func:`l2_loss`, :func:`cosine_distance_loss`),
  Adam, batch 256, Glorot-uniform initialisation, early stopping on a validation split, the
  learning rate chosen on the validation loss; :func:`split_groups` / :func:`group_folds` split
  by sentence (70/15/15, or k-fold cross-validation).
"""

from __future__ import annotations

import numpy as np


def fit_linear(x: np.ndarray, y: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    """(D_in + 1, D_out) weights of ``y ≈ [x, 1] W`` by (slightly regularised) least squares, float64."""
    xb = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    gram = xb.T @ xb
    gram[np.diag_indices_from(gram)] += ridge * np.trace(gram) / len(gram)
    return np.linalg.solve(gram, xb.T @ y.astype(np.float64))


def apply_linear(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))]) @ w


def _distances(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    if metric == "l2":
        return (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None]
    if metric == "cosine":
        an = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-12)
        bn = b / np.linalg.norm(b, axis=1, keepdims=True).clip(1e-12)
        return 1 - an @ bn.T
    raise ValueError(f"metric must be l2 or cosine, got {metric!r}")


def _hits(d: np.ndarray) -> np.ndarray:
    """Row i is a hit when its own candidate i is (one of) the nearest: identical input vectors (the
    same token at the same position in two sequences, e.g. [CLS]) tie and count as identified."""
    own = np.diagonal(d)
    return own <= d.min(1) + 1e-9 * np.abs(d).max(1).clip(1e-12)


def identification_rate(pred: np.ndarray, inputs: np.ndarray, groups: np.ndarray | None, metric: str) -> float:
    """Share of rows i whose nearest row of ``inputs`` (within the same group, or among all) is row i."""
    pred, inputs = np.asarray(pred, np.float64), np.asarray(inputs, np.float64)
    if groups is None:
        return float(_hits(_distances(pred, inputs, metric)).mean())
    hits = 0
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        hits += int(_hits(_distances(pred[idx], inputs[idx], metric)).sum())
    return hits / len(pred)


# ----------------------------------------------------------------------------- trained probes (Brunner et al., appendix)
#
# The paper's set-up (card §4, [exact] from the appendix): one probe per layer mapping hidden
# tokens e^l back to the input tokens e^0; a linear map or an MLP with one hidden layer (1000 GELU
# units); L2 or cosine-distance loss; Adam (beta 0.9, 0.999), batch 256, Glorot-uniform
# initialisation, early stopping after 20 epochs without improvement of the validation loss,
# learning rate chosen from a grid on the validation loss; a sentence-level 70/15/15 split (or
# k-fold cross-validation).  The identification distance matches the loss.


def split_groups(groups: np.ndarray, fractions=(0.70, 0.15, 0.15), seed: int = 0):
    """Boolean (train, valid, test) masks over rows, splitting whole groups (sentences) at random."""
    groups = np.asarray(groups)
    ids = np.unique(groups)
    order = np.random.default_rng(seed).permutation(ids)
    n_tr = int(round(fractions[0] * len(ids)))
    n_va = int(round(fractions[1] * len(ids)))
    parts = (order[:n_tr], order[n_tr:n_tr + n_va], order[n_tr + n_va:])
    return tuple(np.isin(groups, p) for p in parts)


def group_folds(groups: np.ndarray, k: int, seed: int = 0):
    """k-fold cross-validation over groups: for fold i, (train, valid, test) masks with fold i as
    test, fold i+1 (mod k) as validation (early stopping) and the rest as training data.
    ``k = 1`` gives the single 70/15/15 split of :func:`split_groups`."""
    if k == 1:
        return [split_groups(groups, seed=seed)]
    if k < 3:
        raise ValueError(f"cross-validation needs k >= 3 folds (test, valid, train), got {k}")
    groups = np.asarray(groups)
    ids = np.random.default_rng(seed).permutation(np.unique(groups))
    folds = np.array_split(ids, k)
    out = []
    for i in range(k):
        test, valid = np.isin(groups, folds[i]), np.isin(groups, folds[(i + 1) % k])
        out.append((~(test | valid), valid, test))
    return out


def cosine_distance_loss(pred, target):
    """Mean cosine distance ``1 - cos(pred_i, target_i)`` over rows (torch tensors)."""
    import torch

    return (1 - torch.nn.functional.cosine_similarity(pred, target, dim=-1, eps=1e-8)).mean()


def l2_loss(pred, target):
    """Mean squared Euclidean distance ``||pred_i - target_i||^2`` over rows (torch tensors)."""
    return (pred - target).pow(2).sum(-1).mean()


LOSSES = {"cosine": cosine_distance_loss, "l2": l2_loss}


def make_probe(kind: str, d_in: int, d_out: int, hidden: int = 1000):
    """A linear probe or an MLP with one GELU hidden layer; Glorot-uniform weights, zero biases."""
    import torch

    if kind == "linear":
        net = torch.nn.Linear(d_in, d_out)
    elif kind == "mlp":
        net = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, d_out))
    else:
        raise ValueError(f"probe kind must be linear or mlp, got {kind!r}")
    for m in net.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    return net


def train_probe(x_train, y_train, x_valid, y_valid, kind: str = "linear", loss: str = "cosine", lr: float = 1e-4,
                hidden: int = 1000, batch_size: int = 256, max_epochs: int = 1000, patience: int = 20,
                min_delta: float = 0.0, seed: int = 0, device: str = "cpu") -> tuple:
    """Train one probe with Adam and early stopping on the validation loss.

    Training stops after ``patience`` epochs without improvement, an improvement being a validation
    loss below ``(1 - min_delta)`` times the best so far (``min_delta = 0``: any decrease, as
    Keras' default, which the paper presumably used).

    Returns ``(probe, info)``: the probe (eval mode) with the weights of the epoch of lowest
    validation loss, and ``{"epochs", "best_epoch", "valid_loss"}``.  Deterministic for a seed
    (initialisation and batch order come from ``torch.Generator(seed)``); float32.
    """
    import torch

    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    fn = LOSSES[loss]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xt, yt, xv, yv = (torch.as_tensor(a, dtype=torch.float32, device=device) for a in (x_train, y_train, x_valid, y_valid))
    net = make_probe(kind, xt.shape[1], yt.shape[1], hidden).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999))
    best, best_state, best_epoch, epoch = float("inf"), None, 0, 0
    for epoch in range(1, max_epochs + 1):
        net.train()
        for idx in torch.randperm(len(xt), generator=gen).to(device).split(batch_size):
            opt.zero_grad()
            fn(net(xt[idx]), yt[idx]).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            v = float(fn(net(xv), yv))
        if v < best * (1 - min_delta) - 1e-7:
            best, best_epoch = v, epoch
            best_state = {k: t.clone() for k, t in net.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    net.load_state_dict(best_state)
    net.to("cpu").eval()
    return net, {"epochs": epoch, "best_epoch": best_epoch, "valid_loss": best}


def select_probe(x_train, y_train, x_valid, y_valid, lrs=(1e-4,), **kwargs) -> tuple:
    """:func:`train_probe` for each learning rate of ``lrs``; the probe of lowest validation loss.
    Returns ``(probe, info)`` with ``info["lr"]`` the chosen rate."""
    best = None
    for lr in lrs:
        net, info = train_probe(x_train, y_train, x_valid, y_valid, lr=lr, **kwargs)
        if best is None or info["valid_loss"] < best[1]["valid_loss"]:
            best = (net, {**info, "lr": lr})
    return best


def apply_probe(probe, x) -> np.ndarray:
    """The probe's output for rows ``x`` as a float64 array."""
    import torch

    with torch.no_grad():
        return probe(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
