"""Tests for replicate.corpora: offline readers of real text."""

from __future__ import annotations

from pathlib import Path

import pytest

from replicate.data import corpora
from replicate.data.corpora import (
    MissingAssetError,
    gensim_test_data,
    lee_documents,
    pang_lee_sentences,
    read_conllu,
    read_labelled_tsv,
    wiki_text_to_paragraphs,
    wikipedia_paragraphs,
)

# the optional local data sets sit beside the repository (``../shared/data``, as the configs point
# at them); the tests that read them skip when the folder is absent (a fresh clone, a worktree)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


# --------------------------------------------------------------------------- gensim data


def test_gensim_test_data_folder_has_the_files():
    folder = gensim_test_data()
    assert folder.is_dir()
    assert folder.parts[-3:] == ("gensim", "test", "test_data")
    for name in (corpora.WIKI_SAMPLE, "lee_background.cor", "pang_lee_polarity.cor"):
        assert (folder / name).is_file(), name


def test_missing_gensim_raises_missing_asset_error(monkeypatch):
    monkeypatch.setattr(corpora.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingAssetError, match=r"pip install gensim==4\.4\.0"):
        gensim_test_data()
    assert issubclass(MissingAssetError, FileNotFoundError)


def test_pang_lee_sentences_200_balanced_cp1252():
    items = pang_lee_sentences()
    assert len(items) == 200
    labels = [lab for _, lab in items]
    assert labels.count(1) == 100 and labels.count(0) == 100
    assert all(isinstance(s, str) and s.strip() for s, _ in items)
    assert not any(s.startswith("__label__") for s, _ in items)
    # cp1252 decoding, not UTF-8: no replacement characters
    assert not any("\ufffd" in s for s, _ in items)


def test_lee_documents_are_300_news_documents():
    docs = lee_documents()
    assert len(docs) == 300
    assert all(len(d.split()) > 20 for d in docs)
    assert sum(len(d.split()) for d in docs) > 50_000


def test_wikipedia_paragraphs_are_clean_prose():
    paras = wikipedia_paragraphs()
    assert len(paras) > 3000
    assert paras[0].startswith("Anarchism is a political philosophy")
    for p in paras:
        low = p.lower()
        assert not low.startswith("#redirect")
        assert not p.startswith(("=", "*", "|", "{"))
        assert "'''" not in p
        assert len(p.split()) >= corpora.MIN_PARAGRAPH_WORDS
    assert not any("==" in p for p in paras[:200])
    assert wikipedia_paragraphs() == paras  # deterministic


def test_wiki_text_to_paragraphs_rules():
    plain = (
        "'''Foo''' is a thing that people have studied for a very long time.\n"
        "It has many uses in daily life and industry.\n\n"
        "==History==\n\n"
        "* [[Link one]] and a list item that is long enough to count\n"
        "Picture of a foo on a table in the morning sun\n"
        "The history of foo goes back to the ancient world, scholars say.\n\n"
        "{| class=wikitable\n| a || b || c || d || e || f || g || h\n|}\n\n"
        ", which equals when is and the value is zero for all x.\n"
        "Too short.\n"
    )
    paras = wiki_text_to_paragraphs(plain)
    assert paras == [
        "Foo is a thing that people have studied for a very long time. "
        "It has many uses in daily life and industry.",
        "The history of foo goes back to the ancient world, scholars say.",
    ]


# --------------------------------------------------------------------------- labelled TSV


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_labelled_tsv_label_first(tmp_path):
    path = _write(tmp_path, "sst.tsv", "1\ta good film\n0\ta bad , bad film\n\n")
    assert read_labelled_tsv(path, label_first=True) == [("a good film", 1), ("a bad , bad film", 0)]


def test_read_labelled_tsv_label_last_with_auto_header(tmp_path):
    path = _write(tmp_path, "cola.tsv", "sentence\tlabel\nthe dog barks\t1\ndog the barks\t0\n")
    assert read_labelled_tsv(path, label_first=False) == [("the dog barks", 1), ("dog the barks", 0)]
    assert read_labelled_tsv(path, label_first=False, header=True) == [("the dog barks", 1), ("dog the barks", 0)]
    # told there is no header: the header line is a malformed data line
    with pytest.raises(ValueError, match=rf"{path}:1: label 'label' is not an integer"):
        read_labelled_tsv(path, label_first=False, header=False)


def test_read_labelled_tsv_auto_header_keeps_first_data_line(tmp_path):
    path = _write(tmp_path, "x.tsv", "0\tfirst line is data\n1\tsecond\n")
    assert read_labelled_tsv(path, label_first=True)[0] == ("first line is data", 0)
    # same file read with the wrong column order fails loudly instead of guessing
    with pytest.raises(ValueError, match=rf"{path}:2: label 'second' is not an integer"):
        read_labelled_tsv(path, label_first=False)


@pytest.mark.parametrize(
    "line, what",
    [
        ("1\tok\textra", "expected 2 tab-separated columns, got 3"),
        ("no tab here", "expected 2 tab-separated columns, got 1"),
        ("x\tsentence", "label 'x' is not an integer"),
        ("1\t   ", "empty sentence"),
    ],
)
def test_read_labelled_tsv_malformed_line(tmp_path, line, what):
    path = _write(tmp_path, "bad.tsv", f"1\tfine\n0\talso fine\n{line}\n")
    with pytest.raises(ValueError) as err:
        read_labelled_tsv(path, label_first=True)
    assert f"{path}:3" in str(err.value)
    assert what in str(err.value)


def test_read_labelled_tsv_missing_file(tmp_path):
    missing = tmp_path / "nope.tsv"
    with pytest.raises(MissingAssetError, match="nope.tsv"):
        read_labelled_tsv(missing, label_first=True)


@pytest.mark.skipif(not (SHARED_DATA / "sst2").is_dir(), reason="local shared/data not present")
def test_read_labelled_tsv_on_local_sst2_and_cola():
    sst = read_labelled_tsv(SHARED_DATA / "sst2" / "train.tsv", label_first=True)
    cola = read_labelled_tsv(SHARED_DATA / "cola" / "train.tsv", label_first=False)
    assert len(sst) == 6920 and {lab for _, lab in sst} == {0, 1}
    assert len(cola) == 8551 and {lab for _, lab in cola} == {0, 1}


# --------------------------------------------------------------------------- CoNLL-U

CONLLU = """\
# sent_id = 1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_
4.1\tit\tit\tPRON\tPRP\t_\t_\t_\t4:obj\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = 2
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_read_conllu_snippet(tmp_path):
    path = _write(tmp_path, "x.conllu", CONLLU)
    sents = read_conllu(path)
    assert len(sents) == 2
    first = sents[0]
    assert [t["form"] for t in first] == ["I", "do", "n't", "know", "."]  # no 2-3, no 4.1
    assert [t["id"] for t in first] == [1, 2, 3, 4, 5]
    assert first[0] == {"id": 1, "form": "I", "upos": "PRON", "xpos": "PRP", "head": 4, "deprel": "nsubj"}
    assert first[3]["head"] == 0 and first[3]["deprel"] == "root"
    assert sents[1] == [{"id": 1, "form": "Yes", "upos": "INTJ", "xpos": "UH", "head": 0, "deprel": "root"}]


def test_read_conllu_malformed_line(tmp_path):
    bad = CONLLU.replace("5\t.\t.\tPUNCT\t.\t_\t4\tpunct", "5\t.\t.\tPUNCT\t.\t_\tX\tpunct")
    path = _write(tmp_path, "bad.conllu", bad)
    with pytest.raises(ValueError, match=rf"{path}:9: head 'X' is not an integer"):
        read_conllu(path)
    path2 = _write(tmp_path, "short.conllu", "1\tI\tI\tPRON\n")
    with pytest.raises(ValueError, match=rf"{path2}:1: expected 10 tab-separated columns, got 4"):
        read_conllu(path2)
    with pytest.raises(MissingAssetError):
        read_conllu(tmp_path / "missing.conllu")


@pytest.mark.skipif(not (SHARED_DATA / "ud_ewt").is_dir(), reason="local shared/data not present")
def test_read_conllu_on_local_ud_ewt_dev():
    sents = read_conllu(SHARED_DATA / "ud_ewt" / "en_ewt-ud-dev.conllu")
    assert len(sents) == 2001
    for sent in sents:
        assert [t["id"] for t in sent] == list(range(1, len(sent) + 1))
        assert sum(t["head"] == 0 for t in sent) == 1
        assert all(0 <= t["head"] <= len(sent) for t in sent)
