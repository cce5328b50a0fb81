"""Data preparation steps: write prepared splits under ``data/<dataset>/``.

Every writer goes through :func:`atomic_write` so an interrupted step never leaves a
file that looks complete.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from pathlib import Path

import numpy as np

from replicate.data import agreement, corpora, sources
from replicate.data.io import atomic_write, write_json  # noqa: F401 (re-exported: the writers of this module)
from replicate.methods.stats import is_regression


def _texts(names: list[str], limit: int | None = None) -> tuple[list[str], list[str]]:
    """The texts of the named corpora, in order (at most ``limit`` of each), and each text's corpus name."""
    readers = {"wikipedia": corpora.wikipedia_paragraphs, "lee": corpora.lee_documents}
    unknown = set(names) - set(readers)
    if unknown:
        raise ValueError(f"unknown corpora {sorted(unknown)}; choose from {sorted(readers)}")
    pairs = [(t, name) for name in names for t in readers[name]()[:limit]]
    return [t for t, _ in pairs], [name for _, name in pairs]


def fetch(url: str, dest: Path) -> Path:
    """Download ``url`` to ``dest`` once (paper scale only)."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as fh:
            shutil.copyfileobj(r, fh)
    except OSError as e:
        raise corpora.MissingAssetError(
            f"could not download {url} ({e}); download it by hand and set data.agreement.path to the file"
        ) from e
    os.replace(tmp, dest)
    return dest


def prepare_agreement(params: dict, out_dir: str | Path) -> dict:
    """Agreement instances split into train/valid/test TSVs plus ``vocab.json`` and ``stats.json``.

    ``source: rebuild`` parses offline text with spaCy the way Linzen et al. (2016) built
    their set; ``source: linzen`` reads the original ``agr_50_mostcommon_10K.tsv.gz``.
    """
    out = Path(out_dir)
    t0 = time.time()
    if params["source"] == "rebuild":
        texts, names = _texts(params["corpora"], params.get("limit_texts"))
        nlp = agreement.load_spacy(params["spacy_model"])
        instances, stats = agreement.build_agreement(texts, nlp, sources=names)  # each instance records its corpus
    elif params["source"] == "linzen":
        path = Path(params["path"]) if params.get("path") else fetch(params["url"], out / "raw" / "agr_50_mostcommon_10K.tsv.gz")
        instances = agreement.read_linzen(path)
        stats = {"source_file": str(path), "instances": len(instances)}
    else:
        raise ValueError(f"data.agreement.source must be rebuild or linzen, got {params['source']!r}")
    if not instances:
        raise ValueError("no agreement instances were found")
    splits = agreement.split_instances(instances, params["seed"], tuple(params["split"]))
    vocab = agreement.build_vocab(splits["train"], params["min_count"])
    for name, rows in splits.items():
        agreement.write_tsv(rows, out / f"{name}.tsv")
    write_json(out / "vocab.json", vocab)
    hist = {}
    for row in instances:
        hist[row["n_attractors"]] = hist.get(row["n_attractors"], 0) + 1
    stats = {
        **{k: v for k, v in stats.items() if isinstance(v, (int, float, str))},
        **({"instances_by_source": stats["instances_by_source"]} if "instances_by_source" in stats else {}),
        "instances": len(instances),
        "attractor_histogram": {str(k): hist[k] for k in sorted(hist)},
        "splits": {k: len(v) for k, v in splits.items()},
        "vocab_size": len(vocab),
        "plural_share": float(np.mean([r["label"] == "plural" for r in instances])),
        "seconds": round(time.time() - t0, 1),
    }
    write_json(out / "stats.json", stats)
    return stats


def write_sentences(rows: list[tuple], path: str | Path) -> None:
    """``label<TAB>sentence`` lines; a sentence pair (tuple) is written as ``label<TAB>s1<TAB>s2``."""
    lines = []
    for text, label in rows:
        parts = text if isinstance(text, tuple) else (text,)
        lines.append("\t".join([str(label)] + [" ".join(t.split()) for t in parts]))
    atomic_write(path, "\n".join(lines) + "\n")


def read_sentences(path: str | Path, regression: bool = False) -> list[tuple]:
    """Rows ``(text, label)`` of a prepared task file; ``text`` is a string or a pair of strings,
    ``label`` an integer class or, with ``regression``, a float score (STS-B)."""
    p = Path(path)
    if not p.is_file():
        raise corpora.MissingAssetError(f"{p} is missing: run the workflow's prepare_task rule (snakemake {p})")
    kind = "a float score (regression task)" if regression else "an integer label"
    out = []
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        cells = line.split("\t")
        label = corpora.parse_label(cells[0], regression)
        if len(cells) not in (2, 3) or label is None or not all(c.strip() for c in cells[1:]):
            raise ValueError(f"{p}:{lineno}: expected label<TAB>sentence[<TAB>sentence2] with {kind}, got "
                             f"{len(cells)} column(s) and label {cells[0]!r}")
        out.append((cells[1] if len(cells) == 2 else (cells[1], cells[2]), label))
    return out


def encode_texts(tok, texts: list, **kwargs):
    """Tokenise single sentences or sentence pairs (``[CLS] s1 [SEP] s2 [SEP]``) alike."""
    texts = list(texts)
    if texts and isinstance(texts[0], tuple):
        return tok([a for a, _ in texts], [b for _, b in texts], **kwargs)
    return tok(texts, **kwargs)


def _agreement_task(params: dict, split: str) -> list[tuple[str, int]]:
    """Linzen et al.'s verb-number task as sentence classification: the words before the verb,
    label 1 if the verb is plural (the prepared agreement split of the same name)."""
    rows = agreement.read_tsv(Path(params["agreement_dir"]) / f"{split}.tsv")
    return [(" ".join(r["prefix"]), int(r["label"] == "plural")) for r in rows]


def prepare_sentences(params: dict, out_dir: str | Path) -> dict:
    """One task as train/valid/test ``label<TAB>sentence`` files (a float score as the label of a
    regression task, ``metric: corr``).

    ``source: agreement`` reuses the prepared agreement splits; the others split a valid set off
    the training data with ``valid_fraction``.  ``limit_train``/``limit_test`` keep the first N
    sentences of a random order (seeded).
    """
    out = Path(out_dir)
    rng = np.random.default_rng(params.get("seed", 0))

    def limit(rows, n):
        if n is None or len(rows) <= n:
            return rows
        return [rows[i] for i in sorted(rng.permutation(len(rows))[:n])]

    if params["source"] == "agreement":
        train, valid, test = (_agreement_task(params, s) for s in ("train", "valid", "test"))
        train = limit(train, params.get("limit_train"))
        valid = limit(valid, params.get("limit_valid"))
    else:
        train = sources.load_labelled_sentences(params, "train")
        test = sources.load_labelled_sentences(params, "test")
        order = rng.permutation(len(train))
        n_valid = max(1, int(round(params.get("valid_fraction", 0.15) * len(train))))
        valid = [train[i] for i in sorted(order[:n_valid])]
        train = limit([train[i] for i in sorted(order[n_valid:])], params.get("limit_train"))
        valid = limit(valid, params.get("limit_valid"))
    test = limit(test, params.get("limit_test"))
    for name, rows in (("train", train), ("valid", valid), ("test", test)):
        if not rows:
            raise ValueError(f"task data: the {name} split is empty")
        write_sentences(rows, out / f"{name}.tsv")
    stats = {name: len(rows) for name, rows in (("train", train), ("valid", valid), ("test", test))}
    if is_regression(params.get("metric")):  # float scores: their range and mean, no majority class
        scores = np.array([y for _, y in train])
        stats.update(regression=True, label_range=[float(scores.min()), float(scores.max())],
                     label_mean_train=float(scores.mean()))
    else:
        labels = sorted({y for _, y in train})
        stats["labels"] = labels
        stats["majority_test"] = float(max(np.mean([y == c for _, y in test]) for c in labels))
    stats["pairs"] = isinstance(train[0][0], tuple)
    write_json(out / "stats.json", stats)
    return stats


def prepare_pairs(params: dict, out_path: str | Path) -> dict:
    """Consecutive sentence pairs ``(s1, s2)`` from offline Wikipedia paragraphs (an MRPC-like stand-in).

    Paragraphs are split into sentences with spaCy (``params['spacy_model']``); each pair is two
    consecutive sentences of one paragraph.  Kept: pairs whose WordPiece length as
    ``[CLS] s1 [SEP] s2 [SEP]`` (tokenizer of ``params['model']``) lies in
    ``[min_tokens, max_tokens]``.  ``params['paragraphs']`` paragraphs are read, in corpus order.
    Writes JSON lines ``{"s1", "s2", "n_tokens", "paragraph"}``.
    """
    import json

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(sources.model_path(params["model"]))
    nlp = agreement.load_spacy(params.get("spacy_model", agreement.SPACY_MODEL))
    paragraphs = corpora.wikipedia_paragraphs()[: params["paragraphs"]]
    rows = []
    for p_index, doc in enumerate(nlp.pipe(paragraphs, batch_size=32)):
        sents = [" ".join(s.text.split()) for s in doc.sents if len(s.text.split()) >= 3]
        for s1, s2 in zip(sents, sents[1:]):
            n = len(tok(s1, s2)["input_ids"])
            if params["min_tokens"] <= n <= params["max_tokens"]:
                rows.append({"s1": s1, "s2": s2, "n_tokens": n, "paragraph": p_index})
    atomic_write(out_path, "".join(json.dumps(r) + "\n" for r in rows))
    lengths = np.array([r["n_tokens"] for r in rows])
    return {"pairs": len(rows), "paragraphs": len(paragraphs), "min_tokens": int(lengths.min()),
            "max_tokens": int(lengths.max()), "median_tokens": float(np.median(lengths))}


def read_pairs(path: str | Path) -> list[dict]:
    import json

    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def select_by_length(pairs: list[dict], n: int, min_tokens: int, max_tokens: int, seed: int = 0) -> list[dict]:
    """``n`` pairs with lengths in [min_tokens, max_tokens], spread evenly over that range (deterministic)."""
    pool = [p for p in pairs if min_tokens <= p["n_tokens"] <= max_tokens]
    if not pool:
        raise ValueError(f"no sentence pair has {min_tokens}..{max_tokens} tokens")
    rng = np.random.default_rng(seed)
    targets = np.linspace(min_tokens, max_tokens, n)
    chosen, used = [], set()
    for t in targets:
        order = sorted(range(len(pool)), key=lambda i: (abs(pool[i]["n_tokens"] - t), rng.random()))
        i = next((i for i in order if i not in used), None)
        if i is None:
            break
        used.add(i)
        chosen.append(pool[i])
    return chosen


def prepare_deps(params: dict, source: str | Path, out_path: str | Path) -> dict:
    """Dependency-parsed sentences as JSON lines ``{"words", "heads", "deprels"}`` (CoNLL-U heads:
    1-based, 0 = root).

    ``params['treebank']['source']``: ``spacy`` parses the sentences of the prepared Wikipedia
    pairs file ``source`` (both sentences of each pair, first occurrence only) with the spaCy
    pipeline ``spacy_model`` (silver parses, ClearNLP labels); ``local`` reads the gold trees of
    the CoNLL-U file ``source`` (e.g. UD English EWT) with :func:`corpora.read_conllu`.
    """
    import json

    spec = params["treebank"]
    rows = []
    if spec["source"] == "spacy":
        seen, texts = set(), []
        for pair in read_pairs(source):
            for s in (pair["s1"], pair["s2"]):
                if s not in seen:
                    seen.add(s)
                    texts.append(s)
        nlp = agreement.load_spacy(spec.get("spacy_model", agreement.SPACY_MODEL))
        for doc in nlp.pipe(texts, batch_size=64):
            toks = [t for t in doc if not t.is_space]
            index = {t.i: k for k, t in enumerate(toks)}
            if len(toks) != len(doc):
                continue
            rows.append({"words": [t.text for t in toks],
                         "heads": [0 if t.head.i == t.i else index[t.head.i] + 1 for t in toks],
                         "deprels": [t.dep_ for t in toks]})
    elif spec["source"] == "local":
        for sent in corpora.read_conllu(source):
            rows.append({"words": [t["form"] for t in sent], "heads": [t["head"] for t in sent],
                         "deprels": [t["deprel"] for t in sent]})
    else:
        raise ValueError(f"treebank source must be spacy or local, got {spec['source']!r}")
    if not rows:
        raise ValueError(f"no dependency-parsed sentence in {source}")
    atomic_write(out_path, "".join(json.dumps(r) + "\n" for r in rows))
    return {"sentences": len(rows), "words": int(sum(len(r["words"]) for r in rows)), "source": spec["source"]}


def read_deps(path: str | Path) -> list[dict]:
    return read_pairs(path)
