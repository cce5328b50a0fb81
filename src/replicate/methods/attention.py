"""Attention rollout and attention flow (Abnar & Zuidema 2020, ACL).

All functions take the post-softmax attention of ONE example, ``att`` with
shape ``(L, H, T, T)`` (layers, heads, query rows, key columns; rows sum to 1;
padding already cropped by the caller).  Layer index 0 is the layer nearest
the input.  Inputs may be numpy arrays or torch tensors; everything is
computed in float64 numpy on the CPU.

Functions
---------
head_mean      mean over heads, ``A_l``                              (paper §3)
add_residual   ``(A + I)`` row-renormalised == ``0.5 A + 0.5 I``     (paper §3)
raw_attention  head mean without residual ("raw attention")          (paper §3)
rollout        ``R_1 = Â_1, R_l = Â_l R_{l-1}``                     (paper eq. 1)
flow           attention flow: per-pair max-flow in the layered graph (paper §3)
relevance      (L, rows, T) matrix -> (L, T) relevance per input token

Attention-flow implementation notes
-----------------------------------
The graph is the one of the paper / original code: ``(L+1)·T`` nodes, node
``(l, i)`` has an edge to ``(l-1, j)`` with capacity ``Â_l[i, j]``; the flow of
source ``(l, s)`` to input token ``v`` is the value of the single-source,
single-sink maximum flow from ``(l, s)`` to ``(0, v)``, and the values of one
source are divided by their sum over ``v``.  The values follow that definition
exactly; only the way of computing them is organised for speed:

* Layers 1 and 2 have closed forms (computed exactly in float64):
  ``flow_1(s, v) = Â_1[s, v]`` and ``flow_2(s, v) = Σ_k min(Â_2[s, k], Â_1[k, v])``
  (the paths ``s -> k -> v`` are edge-disjoint).
* For layers ``l >= 3`` a problem only involves layers ``1..l``; the other
  nodes of layer ``l`` and the other input nodes are dead ends and are left
  out.  Capacities are ``Â * scale`` rounded to integers (largest-remainder
  rounding: each entry within 1 unit, each row keeps its rounded total) for
  ``scipy.sparse.csgraph.maximum_flow`` (Dinic: 10-50x faster than its
  Edmonds-Karp on these graphs).  With ``scale = 2**30`` the values agree with a float
  max-flow (networkx) to ~1e-9.
* Many problems of one layer are solved by ONE scipy call on the disjoint
  union of their graphs: a super source has one edge per copy, to the copy's
  source, with capacity ``U`` (the copy's cut bound below), and a super sink
  collects the sink edges.  A maximum flow of a disjoint union is a maximum
  flow of every copy, so each value is the flow on that copy's super-source
  edge; copies that reach ``U`` stop being scanned by later Dinic phases.  The
  CSR graph is built once per call (up to ``_MAX_COPIES`` problems), not per
  flow.  Layers are not mixed in one call (Dinic's phases would then be those
  of the deepest copies for all of them).
* Certificate on a sparse subgraph: every flow of ``(l, s) -> v`` is at most
  ``U = min(out-capacity of s, in-capacity of v)``.  For ``l >= 4`` the flow is
  first computed on a subgraph (diagonal, top-2 entries of every row and
  column, the whole row of ``s`` and the whole column of ``v`` in every
  intermediate layer).  A subgraph flow is a lower bound, so when it reaches
  ``U`` it is the exact maximum flow of the full graph (the same integer).  The
  other pairs are recomputed on the full graph (the whole layer, if the first
  batch certifies less than half of its pairs).  Deep layers of dense
  attention saturate (value ``U``), which is why the paper's flow maps flatten
  with depth.
* With every position as a source and equal rounded row totals: if every
  source of layer ``l`` reaches ``U`` for input token ``v``, so does every
  source of every deeper layer (a convex combination of those flows, weighted
  by the source's row of ``Â_{l+1}``, is feasible), so those pairs are skipped.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

__all__ = [
    "head_mean",
    "add_residual",
    "raw_attention",
    "rollout",
    "flow",
    "relevance",
    "AGGREGATES",
]

AGGREGATES = ("cls", "max", "sum")

#: default integer scale for the capacities (2**30: every capacity <= 1 fits in int32)
DEFAULT_SCALE = 2**30
_INT32_MAX = np.iinfo(np.int32).max
#: problems per scipy call: at most _MAX_COPIES copies and about _EDGES_PER_CALL edges
#: (tuned on random attention, T = 32 and 128).  Bigger calls amortise scipy's fixed
#: cost; but every Dinic phase scans all copies that have not reached their bound yet.
_EDGES_PER_CALL = 256_000
_MAX_COPIES = 32
#: entries kept per row and per column (besides the diagonal) in the sparse subgraph
_TOPK = 2


# --------------------------------------------------------------------------- #
# basic transforms
# --------------------------------------------------------------------------- #
def _as_array(x) -> np.ndarray:
    """float64 numpy array from a numpy array or a torch tensor (any device/dtype, grad ok)."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _check_att(att) -> np.ndarray:
    a = _as_array(att)
    if a.ndim != 4 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"att must have shape (L, H, T, T); got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("att contains non-finite values")
    return a


def head_mean(att) -> np.ndarray:
    """Mean over heads: ``A_l = (1/H) Σ_h att[l, h]`` (paper §3). (L,H,T,T) -> (L,T,T)."""
    return _check_att(att).mean(axis=1)


def add_residual(A) -> np.ndarray:
    """Residual augmentation ``Â = (A + I)`` with rows renormalised (paper §3).

    For row-stochastic ``A`` this equals ``0.5 A + 0.5 I``.  Works on (T, T) or
    (L, T, T) (any leading dimensions).
    """
    a = _as_array(A)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"A must have shape (..., T, T); got {a.shape}")
    a = a + np.eye(a.shape[-1])
    return a / a.sum(axis=-1, keepdims=True)


def raw_attention(att) -> np.ndarray:
    """The paper's raw-attention relevance matrices: head mean, no residual (§3). -> (L,T,T)."""
    return head_mean(att)


def _layer_mats(att, residual: bool) -> np.ndarray:
    A = head_mean(att)
    return add_residual(A) if residual else A


def rollout(att, residual: bool = True) -> np.ndarray:
    """Attention rollout (paper eq. 1): ``R_1 = Â_1``, ``R_l = Â_l @ R_{l-1}``.

    Returns the joint attention at every layer, shape (L, T, T); row ``i`` of
    ``R_l`` is the relevance of the input tokens for position ``i`` at layer
    ``l``.  With ``residual=True`` (paper) ``Â = 0.5 A + 0.5 I``; rows sum to 1.
    """
    A = _layer_mats(att, residual)
    R = np.empty_like(A)
    R[0] = A[0]
    for l in range(1, A.shape[0]):
        R[l] = A[l] @ R[l - 1]
    return R


# --------------------------------------------------------------------------- #
# attention flow
# --------------------------------------------------------------------------- #
def _resolve_sources(sources, T: int) -> np.ndarray:
    if isinstance(sources, str):
        if sources == "cls":
            return np.zeros(1, dtype=np.int64)
        if sources == "all":
            return np.arange(T, dtype=np.int64)
        raise ValueError(f"sources must be 'cls', 'all' or a sequence of positions; got {sources!r}")
    src = np.asarray(sources)
    if src.ndim == 0:
        src = src.reshape(1)
    if src.ndim != 1 or src.size == 0 or not np.issubdtype(src.dtype, np.integer):
        raise ValueError(f"sources must be 'cls', 'all' or a non-empty sequence of ints; got {sources!r}")
    if src.min() < 0 or src.max() >= T:
        raise ValueError(f"source positions must lie in [0, {T - 1}]; got {sources!r}")
    return src.astype(np.int64)


def _resolve_layers(layers, L: int) -> np.ndarray:
    if layers is None:
        return np.arange(L)
    lay = np.unique(np.asarray(layers, dtype=np.int64).reshape(-1))
    if lay.size == 0 or lay.min() < 0 or lay.max() >= L:
        raise ValueError(f"layers must be 0-based indices in [0, {L - 1}]; got {layers!r}")
    return lay


def _integer_capacities(A: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Round ``A * scale`` to int64 with largest-remainder rounding per row.

    Every entry is within 1 of ``A * scale`` and every row sums to
    ``rint(row sum * scale)``.  Returns (C, row_totals).
    """
    X = A * float(scale)
    F = np.floor(X)
    tot = np.rint(X.sum(axis=-1))
    deficit = (tot - F.sum(axis=-1)).astype(np.int64)  # in [0, T]
    order = np.argsort(-(X - F), axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(A.shape[-1]), axis=-1)
    C = F.astype(np.int64) + (rank < deficit[..., None])
    return C, tot.astype(np.int64)


class _Plan:
    """Edge pattern of the layer matrices 2..L of one example, for the batched builder.

    Intermediate rows are numbered ``r = (m-2)*T + i`` (node ``(m, i)``, m = 2..L),
    so the rows needed by a source at layer ``l`` are the prefix ``r < (l-2)*T``.
    In a per-problem graph the local node id of ``(m, i)`` is ``(m-1)*T + i``.
    ``full=False`` keeps the diagonal and the top-k entries of every row and
    column (the builder adds the row of the source and the column of the sink).
    """

    def __init__(self, C: np.ndarray, full: bool):
        L, T, _ = C.shape
        Cm = C[1:].astype(np.int32)  # capacities <= scale < 2**31
        self.T, self.C = T, C
        self.Cflat = Cm.reshape(-1, T)
        self.full = full or 2 * _TOPK + 1 >= T
        if self.full:  # every entry: nothing to precompute beyond the row offsets
            self.eoff = np.arange(L) * T * T
            return
        mask = np.zeros(Cm.shape, dtype=bool)
        lay = np.arange(L - 1)[:, None, None]
        r = np.argpartition(-Cm, _TOPK - 1, axis=2)[:, :, :_TOPK]
        mask[lay, np.arange(T)[None, :, None], r] = True
        c = np.argpartition(-Cm, _TOPK - 1, axis=1)[:, :_TOPK, :]
        mask[lay, c, np.arange(T)[None, None, :]] = True
        mask[:, np.arange(T), np.arange(T)] = True
        self.has = mask.reshape(-1, T)  # (R, T)
        self.cnt = self.has.sum(axis=1)  # entries per row
        r, j = np.nonzero(self.has)  # row-major: sorted within rows
        self.erow = r
        self.ej = j  # token of the target node
        self.ecol = r - r % T + j  # local id of target node (m-1, j)
        self.erank = np.arange(r.size) - np.repeat(np.cumsum(self.cnt) - self.cnt, self.cnt)
        self.edata = self.Cflat[r, j]
        self.rank = np.cumsum(self.has, axis=1) - self.has  # entries of row r left of column v
        self.rowbase = np.arange(self.has.shape[0]) // T * T  # local id of (m-1, 0) for row (m, i)
        self.eoff = np.concatenate([[0], np.cumsum(self.cnt.reshape(L - 1, T).sum(axis=1))])

    def edges_per_copy(self, l: int) -> int:
        T = self.T
        extra = 0 if self.full else (l - 2) * 2 * T
        return int(2 * T + 1 + self.eoff[l - 2] + extra)

    def copies_per_call(self, l: int) -> int:
        return max(1, min(_MAX_COPIES, _EDGES_PER_CALL // self.edges_per_copy(l)))

    def build(self, l: int, s: np.ndarray, v: np.ndarray, cap: np.ndarray) -> csr_matrix:
        """int32 CSR graph: disjoint union of B copies, source (l, s[b]) -> input v[b].

        Copy b occupies nodes ``1 + b*(ncore+1) + local id`` with local ids
        ``(m-1)*T + i`` for node (m, i), m = 1..l-1, and ``ncore = (l-1)*T`` for
        its source (l, s_b).  Node 0 is the super source, with one edge of
        capacity ``cap[b]`` to the source of copy b (``cap`` >= the copy's
        max-flow, e.g. its cut bound U: a copy that reaches it drops out of
        Dinic's later phases).  Node N-1 is the super sink, with edges from
        layer 1 of every copy, capacities Â_1[:, v_b].  Indices are sorted
        within rows.
        """
        T, C = self.T, self.C
        B = s.size
        ncore = (l - 1) * T
        nc = ncore + 1
        nmid = (l - 2) * T
        E = int(self.eoff[l - 2])
        N = 2 + B * nc
        bb = np.arange(B)
        cbase = 1 + bb * nc  # node id of (layer 1, token 0) of copy b
        if self.full:
            rl = np.full(nc, T, dtype=np.int64)
            rl[:T] = 1
            lens = np.broadcast_to(rl, (B, nc))
        else:
            srows = s[:, None] + T * np.arange(l - 2)  # (B, l-2): rows of the source token
            addv = ~self.has[:nmid, v].T  # (B, nmid): row lacks column v_b
            addv[bb[:, None], srows] = False
            lens = np.empty((B, nc), dtype=np.int64)
            lens[:, :T] = 1
            lens[:, T:ncore] = self.cnt[:nmid] + addv
            lens[bb[:, None], T + srows] = T
            lens[:, ncore] = T
        indptr = np.empty(N + 1, dtype=np.int64)
        indptr[0] = 0
        indptr[1] = B
        np.cumsum(lens, out=indptr[2:N])  # flattened, row-major = node order
        indptr[2:N] += B
        indptr[N] = indptr[N - 1]
        nnz = int(indptr[N])
        indices = np.full(nnz, -1, dtype=np.int32)  # -1 = not written (checked below)
        data = np.empty(nnz, dtype=np.int32)
        # super source row
        indices[:B] = cbase + ncore
        data[:B] = cap
        if self.full:
            per = 2 * T + E
            ind = indices[B:].reshape(B, per)
            dat = data[B:].reshape(B, per)
            ind[:, :T] = N - 1
            dat[:, :T] = C[0].T[v]
            ecol = ((np.arange(nmid) // T) * T)[:, None] + np.arange(T)  # target (m-1, j) of row (m, i)
            ind[:, T : T + E] = cbase[:, None] + ecol.reshape(-1)
            dat[:, T : T + E] = self.Cflat[:nmid].reshape(-1)
            ind[:, T + E :] = cbase[:, None] + nmid + np.arange(T)
            dat[:, T + E :] = C[l - 1][s]
        else:
            starts = indptr[1 : N - 1].reshape(B, nc)
            # layer-1 rows -> super sink
            pos = starts[:, :T]
            indices[pos] = N - 1
            data[pos] = C[0].T[v]
            # pattern entries, shifted right where v_b is inserted before them (the
            # entries written into the rows of s are overwritten by the full rows below)
            er = self.erow[:E]
            pos = starts[:, T + er] + self.erank[:E]
            pos += addv[:, er] & (self.ej[:E] > v[:, None])
            indices[pos] = cbase[:, None] + self.ecol[:E]
            data[pos] = self.edata[:E]
            # column v_b in every row (where the pattern has it already, this rewrites
            # the same entry at the same place)
            pos = starts[:, T:ncore] + self.rank[:nmid, v].T
            indices[pos] = (cbase[:, None] + self.rowbase[:nmid]) + v[:, None]
            data[pos] = self.Cflat[:nmid, v].T
            # full rows of the source token in every intermediate layer
            pos = (starts[bb[:, None], T + srows][:, :, None] + np.arange(T)).reshape(-1)
            indices[pos] = (cbase[:, None, None] + (srows - s[:, None])[:, :, None] + np.arange(T)).reshape(-1)
            data[pos] = self.Cflat[srows].reshape(-1)
            # the copy's source (l, s_b) -> layer l-1
            pos = starts[:, ncore][:, None] + np.arange(T)
            indices[pos] = cbase[:, None] + nmid + np.arange(T)
            data[pos] = C[l - 1][s]
        # scipy's max-flow does not bounds-check: fail loudly on a builder bug instead of
        # crashing.  Sortedness is left for scipy to check (and fix) itself.
        if nnz and (indices.min() < 0 or indices.max() >= N):
            raise RuntimeError("internal error: inconsistent flow graph")
        return csr_matrix((data, indices, indptr.astype(np.int32)), shape=(N, N))


def _maxflow_batch(plan: _Plan, l: int, s: np.ndarray, v: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Integer max-flow values of B problems (source (l, s[b]) -> input v[b]) in ONE scipy call.

    A maximum flow of a disjoint union is a maximum flow of every copy, so the
    value of copy b is the flow on its super-source edge.
    """
    g = plan.build(l, s, v, cap)
    fl = maximum_flow(g, 0, g.shape[0] - 1, method="dinic").flow
    return np.asarray(fl.data[fl.indptr[0] : fl.indptr[1]], dtype=np.int64)


def _solve(plan: _Plan, l: int, s: np.ndarray, v: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Max-flow values of problems of one layer, ``plan.copies_per_call(l)`` per scipy call.

    Layers and patterns are never mixed in one call: Dinic's phases advance by
    path length, so shallow copies would wait for the deep ones.
    """
    B = plan.copies_per_call(l)
    out = np.empty(s.size, dtype=np.int64)
    for a in range(0, s.size, B):
        out[a : a + B] = _maxflow_batch(plan, l, s[a : a + B], v[a : a + B], cap[a : a + B])
    return out


def flow(att, sources="cls", residual: bool = True, scale: int = DEFAULT_SCALE, layers=None) -> np.ndarray:
    """Attention flow (paper §3): normalised max-flow from each source to each input token.

    Parameters
    ----------
    att : (L, H, T, T) post-softmax attention of one example (numpy or torch).
    sources : ``"cls"`` (position 0 only, S = 1), ``"all"`` (S = T) or a sequence
        of positions.
    residual : use ``Â = 0.5 A + 0.5 I`` (paper) or the bare head mean ``A``.
    scale : integer capacity scale for scipy's integer max-flow.  ``scale`` times
        the largest row sum of the layer matrices must stay below 2**31 - 1
        (int32); the default 2**30 gives ~1e-9 agreement with float max-flow.
    layers : optional 0-based layer indices to compute; the rows of the other
        layers are NaN.  Default: all layers.

    Returns
    -------
    (L, S, T) float64; ``out[l, i, v]`` = max-flow from node (layer l+1,
    ``sources[i]``) to input token ``v`` (each pair a separate single-source,
    single-sink problem), divided by the sum over ``v``.  A source whose flows
    are all 0 gives a row of zeros.  Layer 1 equals the rows of
    ``add_residual(head_mean(att))[0]`` (= rollout at layer 1).
    """
    A = head_mean(att)
    if np.any(A < 0):
        raise ValueError("attention must be non-negative")
    if residual:
        A = add_residual(A)
    L, T, _ = A.shape
    src = _resolve_sources(sources, T)
    todo = _resolve_layers(layers, L)
    S = src.size
    scale = int(scale)
    rowmax = float(A.sum(axis=-1).max()) if A.size else 0.0
    if scale < 1 or scale * rowmax + T >= _INT32_MAX:
        raise ValueError(f"scale={scale} overflows int32 for row sums up to {rowmax:.3g}; use a smaller scale")

    out = np.full((L, S, T), np.nan)
    raw = np.zeros((L, S, T))  # un-normalised values in units of attention
    done = np.zeros(L, dtype=bool)

    # closed forms for layers 1 and 2 (exact float64)
    if 0 in todo:
        raw[0] = A[0][src]
        done[0] = True
    if L > 1 and 1 in todo:
        chunk = max(1, (1 << 22) // max(T * T, 1))
        for a in range(0, S, chunk):
            raw[1, a : a + chunk] = np.minimum(A[1][src[a : a + chunk], :, None], A[0][None, :, :]).sum(axis=1)
        done[1] = True

    deep = todo[todo >= 2]
    if deep.size:
        C, rowtot = _integer_capacities(A, scale)
        full = _Plan(C, full=True)
        sub = _Plan(C, full=False)
        if sub.full:  # tiny T: the sparse pattern is the whole graph
            sub = full
        colin = C[0].sum(axis=0)  # in-capacity of every input token
        # pair p = (source index a, input token v), a-major
        pa = np.repeat(np.arange(S), T)
        pv = np.tile(np.arange(T), S)
        # convexity lemma: only with every position as a source and equal row totals
        lemma = bool(np.all(rowtot == rowtot.flat[0])) and np.array_equal(np.unique(src), np.arange(T))
        saturated = np.zeros(T, dtype=bool)  # input tokens reached with U by every source
        for li in deep:  # ascending: the lemma carries saturation upwards
            l = int(li) + 1  # 1-based layer of the sources
            U = np.minimum(rowtot[li][src][pa], colin[pv])  # cut bound of every pair
            val = np.full(pa.size, -1, dtype=np.int64)
            if lemma:
                val[saturated[pv]] = U[saturated[pv]]
            left = np.nonzero(val < 0)[0]
            # pass 1 (l >= 4): sparse subgraph, exact where it reaches the bound U.  The
            # first call is a probe: if it certifies less than half, skip to pass 2.
            if left.size and l >= 4 and sub is not full:
                probe = sub.copies_per_call(l)
                for part in (left[:probe], left[probe:]):
                    if part.size:
                        f = _solve(sub, l, src[pa[part]], pv[part], U[part])
                        ok = f == U[part]
                        val[part[ok]] = f[ok]
                        if 2 * ok.sum() < ok.size:
                            break
                left = np.nonzero(val < 0)[0]
            # pass 2: full graph for everything else
            if left.size:
                val[left] = _solve(full, l, src[pa[left]], pv[left], U[left])
            val = val.reshape(S, T)
            if lemma:
                sat = np.zeros((T, T), dtype=bool)
                sat[src] = val == U.reshape(S, T)
                saturated |= sat.all(axis=0)
            raw[li] = val / float(scale)
            done[li] = True

    tot = raw.sum(axis=-1, keepdims=True)
    norm = np.divide(raw, tot, out=np.zeros_like(raw), where=tot > 0)
    out[done] = norm[done]
    return out


# --------------------------------------------------------------------------- #
# relevance
# --------------------------------------------------------------------------- #
def relevance(mat, aggregate: str = "cls") -> np.ndarray:
    """Relevance of each input token from a (L, rows, T) matrix -> (L, T).

    ``mat`` is a rollout/raw-attention matrix (L, T, T) or a flow matrix
    (L, S, T).  ``aggregate``:

    * ``"cls"``: row 0 (the CLS query; for ``flow`` the first source), as in the
      paper's tables 1 and 2;
    * ``"max"``: maximum over query rows (quirk Q1 of the original SST-2 script
      behind table 3);
    * ``"sum"``: sum over query rows.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}; got {aggregate!r}")
    m = _as_array(mat)
    if m.ndim < 2:
        raise ValueError(f"mat must have shape (..., rows, T); got {m.shape}")
    if aggregate == "cls":
        return m[..., 0, :].copy()
    if aggregate == "max":
        return m.max(axis=-2)
    return m.sum(axis=-2)
