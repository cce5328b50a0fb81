"""FrameNet frame-semantic links in attention (Kovaleva et al. 2019, §4.5 and fig3).

* :class:`Annotated` / :class:`FrameElement`: one annotated sentence (text, Target spans, the
  frame elements of the first FE layer with their two "core" flags), as character spans.
* :func:`read_examples`: the hand-written FrameNet-style sentences shipped in the package (or a
  file in that format); :func:`nltk_records`: FrameNet 1.7 through ``nltk.corpus.framenet``.
* :func:`filter_reason`: the §4.5 sentence filter of the authors' notebook (card §4.5).
* :func:`sentence_scores` / :func:`score`: per head, the attention from frame-element tokens
  to the target token, max over the sentence's pairs, mean over sentences; the notebook's zip
  pairing with first-occurrence wordpiece positions and the all-pairs maximum of the paper's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from replicate.data.corpora import MissingAssetError

EXAMPLES = Path(str(resources.files("replicate") / "resources" / "framenet_examples.tsv"))
NLTK_NAME = "framenet_v17"
NLTK_HINT = (f"run `python -m nltk.downloader {NLTK_NAME}` (FrameNet 1.7, CC BY 3.0, about 90 MB) on a machine with "
             "network, or copy its corpora/framenet_v17 folder into a directory named in NLTK_DATA")
VARIANTS = ("zip", "all_pairs")
CORE_RULES = ("coreset", "coretype")
FLAGS = {"core", "set"}


@dataclass(frozen=True)
class FrameElement:
    name: str
    start: int  # character offsets into the sentence, end exclusive (as nltk's spans)
    end: int
    core: bool  # the frame's FE has coreType "Core"
    in_coreset: bool  # the FE is named in one of the frame's FEcoreSets (the notebook's "core")


@dataclass(frozen=True)
class Annotated:
    id: str
    text: str
    frame: str
    lu: str
    targets: tuple  # ((start, end), ...): the Target layer's spans
    fes: tuple  # (FrameElement, ...): the first FE layer, in order of start

    def span(self, start: int, end: int) -> str:
        return self.text[start:end]


# ----------------------------------------------------------------------------- shipped examples

_MARK = re.compile(r"<([^<>\[\]|]+)>|\[([^\[\]<>|]+)\|([A-Za-z_][A-Za-z0-9_-]*)\|([a-z,\-]+)\]")


def parse_markup(markup: str, where: str = "") -> tuple[str, tuple, tuple]:
    """``<target>`` and ``[span|FE name|flags]`` -> (plain text, target spans, frame elements)."""
    text, targets, fes, pos = [], [], [], 0
    for m in _MARK.finditer(markup):
        text.append(markup[pos:m.start()])
        start = sum(len(t) for t in text)
        if m.group(1) is not None:
            text.append(m.group(1))
            targets.append((start, start + len(m.group(1))))
        else:
            span, name, flags = m.group(2), m.group(3), m.group(4)
            flagset = set() if flags == "-" else set(flags.split(","))
            if not flagset <= FLAGS:
                raise ValueError(f"{where}: unknown FE flag(s) {sorted(flagset - FLAGS)} in [{span}|{name}|{flags}] "
                                 f"(known: core, set, or '-')")
            text.append(span)
            fes.append(FrameElement(name, start, start + len(span), "core" in flagset, "set" in flagset))
        pos = m.end()
    text.append(markup[pos:])
    plain = "".join(text)
    stray = [c for c in "<>[]|" if c in plain]
    if stray:
        raise ValueError(f"{where}: unbalanced or malformed markup (left over {''.join(stray)!r}); write <target> and "
                         f"[span|FE name|flags]")
    if not targets:
        raise ValueError(f"{where}: no <target> in the sentence")
    return plain, tuple(targets), tuple(sorted(fes, key=lambda f: f.start))


def read_examples(path=None) -> list[Annotated]:
    """The annotated sentences of a TSV file (default: the shipped hand-written ones, NOT FrameNet
    data); a malformed line raises ``ValueError`` naming ``path:line``."""
    path = Path(path or EXAMPLES)
    if not path.is_file():
        raise MissingAssetError(f"no FrameNet-style sentence file at {path}")
    out, header, ids = [], None, set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        where = f"{path}:{n}"
        if header is None:
            if cols != ["id", "frame", "lu", "sentence"]:
                raise ValueError(f"{where}: expected the header id<TAB>frame<TAB>lu<TAB>sentence, got {cols}")
            header = cols
            continue
        if len(cols) != 4 or not all(c.strip() for c in cols):
            raise ValueError(f"{where}: expected 4 non-empty tab-separated columns (id, frame, lu, sentence), "
                             f"got {len(cols)}")
        if cols[0] in ids:
            raise ValueError(f"{where}: id {cols[0]!r} appears twice")
        ids.add(cols[0])
        text, targets, fes = parse_markup(cols[3], where)
        out.append(Annotated(cols[0], text, cols[1], cols[2], targets, fes))
    if not out:
        raise ValueError(f"{path}: no sentences")
    return out


# ----------------------------------------------------------------------------- FrameNet 1.7 (nltk)

def check_nltk_framenet() -> str:
    """The folder of nltk's FrameNet 1.7, or :class:`MissingAssetError` saying how to get it."""
    try:
        import nltk
    except ImportError as e:  # pragma: no cover - nltk is a dependency
        raise MissingAssetError("nltk is not installed: pip install nltk==3.9.1") from e
    try:
        return str(nltk.data.find(f"corpora/{NLTK_NAME}"))
    except LookupError:
        raise MissingAssetError(
            f"FrameNet 1.7 (nltk data '{NLTK_NAME}') is not installed: {NLTK_HINT}. nltk looks in "
            f"{nltk.data.path} (NLTK_DATA prepends folders). Or set kovaleva2019.framenet.source: examples "
            "(the shipped hand-written sentences)") from None


def from_nltk(sent, frame, lu: str = "") -> Annotated | None:
    """One nltk exemplar sentence (an ``AttrDict`` with ``text``, ``Target`` [(start, end)] and
    ``FE`` = (overt [(start, end, name)], null instantiations)) of ``frame`` (``FE``: name -> FE
    with ``coreType``; ``FEcoreSets``: lists of FEs) as a record; None if it has no Target or FE layer."""
    if "Target" not in sent or "FE" not in sent:
        return None
    overt, _null = sent["FE"]
    coreset = {fe.name for core_set in frame.FEcoreSets for fe in core_set}
    fes = tuple(FrameElement(name, int(s), int(e), name in frame.FE and frame.FE[name].coreType == "Core",
                             name in coreset) for s, e, name in sorted(overt))
    return Annotated(str(sent.get("ID", "")), sent["text"], frame.name, lu,
                     tuple((int(s), int(e)) for s, e in sent["Target"]), fes)


def nltk_records(limit_lus: int | None = None):
    """Every annotated exemplar sentence of FrameNet 1.7, LU by LU, sub-corpus by sub-corpus (card §4.5)."""
    check_nltk_framenet()
    from nltk.corpus import framenet as fn

    for k, lu in enumerate(sorted(fn.lus(), key=lambda x: x.ID)):
        if limit_lus is not None and k >= limit_lus:
            return
        full = fn.lu(lu.ID)
        for sub in full.subCorpus:
            for sent in sub.sentence:
                rec = from_nltk(sent, full.frame, full.name)
                if rec is not None:
                    yield rec


# ----------------------------------------------------------------------------- the §4.5 filter

def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of NLTK's word tokens (``word_tokenize`` with ``preserve_line=True``: no
    punkt data needed; the same tokens for one sentence)."""
    from nltk.tokenize import NLTKWordTokenizer

    return list(NLTKWordTokenizer().span_tokenize(text))


def _covered(spans, start: int, end: int) -> list[int]:
    return [i for i, (s, e) in enumerate(spans) if s < end and e > start]


def filter_reason(rec: Annotated, max_words: int = 12, max_fe_words: int = 3, window: int = 2,
                  core: str = "coreset") -> str | None:
    """Why the notebook's filter (card §4.5) drops ``rec``, or None if it keeps it. Checked in order:
    ``too_long`` (> max_words tokens), ``target`` (not exactly one Target span of one token),
    ``fe_too_long`` (an FE span over max_fe_words tokens), ``fe_close`` (an FE token string occurs
    within ±window tokens of the target: the notebook's ``is_close``, by string), ``no_core`` (no
    core FE: ``coreset`` = named in the frame's FEcoreSets, the notebook's quirk; ``coretype`` =
    coreType "Core")."""
    if core not in CORE_RULES:
        raise ValueError(f"core must be one of {CORE_RULES}, got {core!r}")
    spans = word_spans(rec.text)
    words = [rec.text[s:e] for s, e in spans]
    if len(words) > max_words:
        return "too_long"
    if len(rec.targets) != 1 or len(_covered(spans, *rec.targets[0])) != 1:
        return "target"
    if not rec.fes:
        return "no_core"
    fe_tokens = [_covered(spans, fe.start, fe.end) for fe in rec.fes]
    if any(len(t) > max_fe_words for t in fe_tokens):
        return "fe_too_long"
    t = _covered(spans, *rec.targets[0])[0]
    near = {words[i] for i in range(max(0, t - window), min(len(words), t + window + 1)) if i != t}
    if near & {words[i] for toks in fe_tokens for i in toks}:
        return "fe_close"
    if not any(fe.in_coreset if core == "coreset" else fe.core for fe in rec.fes):
        return "no_core"
    return None


def select(records, **kwargs) -> tuple[list[Annotated], dict[str, int]]:
    """The records the filter keeps, and how many it drops for each reason (``kept``, ``seen``)."""
    kept, counts = [], {"seen": 0, "kept": 0}
    for rec in records:
        counts["seen"] += 1
        reason = filter_reason(rec, **kwargs)
        if reason is None:
            kept.append(rec)
            counts["kept"] += 1
        else:
            counts[reason] = counts.get(reason, 0) + 1
    return kept, counts


# ----------------------------------------------------------------------------- the score

def first_occurrence_pairs(tokens: list[str], fe_pieces: list[str], target_pieces: list[str]) -> list[tuple[int, int]]:
    """The notebook's pairs: each wordpiece string's FIRST position in ``tokens``, FE and target
    positions zipped element-wise (not a product); pieces not in ``tokens`` are dropped."""
    fe_pos = [tokens.index(p) for p in fe_pieces if p in tokens]
    target_pos = [tokens.index(p) for p in target_pieces if p in tokens]
    return list(zip(fe_pos, target_pos))


def aligned_pairs(offsets, rec: Annotated) -> list[tuple[int, int]]:
    """Every (FE wordpiece, target wordpiece) position pair, aligned by character offsets."""
    def pieces(start, end):
        return [i for i, (s, e) in enumerate(offsets) if e > s and s < end and e > start]

    ts, te = rec.targets[0]
    fe = sorted({i for f in rec.fes for i in pieces(f.start, f.end)})
    return [(i, j) for i in fe for j in pieces(ts, te)]


def pair_max(maps: list[np.ndarray], pairs: list[tuple[int, int]]) -> np.ndarray:
    """Per head, max over ``pairs`` of attention[query = FE token, key = target token]: (L, H)."""
    rows, cols = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    return np.stack([a[:, rows, cols].max(-1) for a in maps])


def sentence_pairs(tok, rec: Annotated, tokens: list[str], offsets) -> dict[str, list]:
    """Both variants' (FE, target) position pairs of one encoded sentence."""
    fe_pieces = [p for f in rec.fes for p in tok.tokenize(rec.span(f.start, f.end))]
    target_pieces = tok.tokenize(rec.span(*rec.targets[0]))
    return {"zip": first_occurrence_pairs(tokens, fe_pieces, target_pieces), "all_pairs": aligned_pairs(offsets, rec)}


def score(model, inst, tok, records: list[Annotated], max_length: int = 20) -> dict:
    """Mean over sentences of the per-head max FE -> target attention, for both variants (card §4.5),
    on sentences cut to ``max_length`` wordpieces; a sentence without a scorable pair in a variant is
    left out of that variant's mean (``n`` counts the rest)."""
    from replicate.methods.heads import MeanOver, attention_maps

    means = {v: MeanOver() for v in VARIANTS}
    used = {v: [] for v in VARIANTS}
    for rec, (tokens, maps) in zip(records, attention_maps(model, inst, tok, [r.text for r in records], max_length)):
        enc = tok(rec.text, truncation=True, max_length=max_length, return_offsets_mapping=True)
        if tok.convert_ids_to_tokens(enc["input_ids"]) != tokens:
            raise RuntimeError(f"{rec.id}: offsets computed on other tokens")
        for v, pairs in sentence_pairs(tok, rec, tokens, enc["offset_mapping"]).items():
            if pairs:
                means[v].add(pair_max(maps, pairs))
                used[v].append(rec.id)
    return {v: {"mean": means[v].mean().tolist() if used[v] else None, "n": len(used[v]), "ids": used[v]}
            for v in VARIANTS}
