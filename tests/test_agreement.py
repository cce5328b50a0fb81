"""Tests for replicate.agreement: Linzen-style subject-verb agreement data."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from pathlib import Path

import pytest

from replicate.data.agreement import (
    INSTANCE_KEYS,
    LINZEN_COLUMNS,
    PTB_TAGS,
    TSV_COLUMNS,
    build_agreement,
    build_vocab,
    encode,
    find_instances,
    load_spacy,
    read_linzen,
    read_tsv,
    split_instances,
    write_tsv,
)
from replicate.data.corpora import MissingAssetError

CHECK = "The keys to the old cabinet are on the table, but the author of the books says nothing."


@pytest.fixture(scope="module")
def nlp():
    try:
        return load_spacy()
    except MissingAssetError as exc:  # pragma: no cover - environment without the model
        pytest.skip(str(exc))


def _doc(nlp, words, tags, heads, deps, spaces=None):
    """A hand-made parsed Doc (heads are absolute 0-based indices; root points to itself)."""
    from spacy.tokens import Doc

    return Doc(nlp.vocab, words=words, spaces=spaces, tags=tags, heads=heads, deps=deps)


def _inst(prefix, tags, verb, label, subj_idx, n_int=0, n_att=0):
    return {
        "prefix": prefix,
        "prefix_tags": tags,
        "verb": verb,
        "verb_tag": "VBZ" if label == "singular" else "VBP",
        "label": label,
        "subject": prefix[subj_idx],
        "subject_tag": tags[subj_idx],
        "subject_index": subj_idx,
        "verb_index": len(prefix),
        "n_intervening": n_int,
        "n_attractors": n_att,
        "distance": len(prefix) - subj_idx,
    }


# --------------------------------------------------------------------------- extraction


def test_check_sentence_two_instances(nlp):
    counts = Counter()
    found = find_instances(nlp(CHECK), counts=counts)
    assert len(found) == 2
    assert all(tuple(i) == INSTANCE_KEYS for i in found)
    keys, author = found

    assert keys["prefix"] == ["The", "keys", "to", "the", "old", "cabinet"]
    assert keys["prefix_tags"] == ["DT", "NNS", "IN", "DT", "JJ", "NN"]
    assert (keys["verb"], keys["verb_tag"], keys["label"]) == ("are", "VBP", "plural")
    assert (keys["subject"], keys["subject_index"], keys["verb_index"]) == ("keys", 1, 6)
    assert (keys["n_intervening"], keys["n_attractors"], keys["distance"]) == (1, 1, 5)

    assert author["prefix"][-4:] == ["author", "of", "the", "books"]
    assert author["prefix"][:7] == ["The", "keys", "to", "the", "old", "cabinet", "are"]
    assert (author["verb"], author["verb_tag"], author["label"]) == ("says", "VBZ", "singular")
    assert (author["subject"], author["subject_index"], author["verb_index"]) == ("author", 13, 17)
    assert (author["n_intervening"], author["n_attractors"], author["distance"]) == (1, 1, 4)
    assert len(author["prefix"]) == author["verb_index"] == len(author["prefix_tags"])
    assert counts == Counter(sentences=1, candidates=2, instances=2)


def test_mismatch_dropped_and_counted(nlp):
    # "The dog are here ." with NN subject + VBP verb: a parse/tag error, dropped
    doc = _doc(nlp, ["The", "dog", "are", "here", "."], ["DT", "NN", "VBP", "RB", "."],
               [1, 2, 2, 2, 2], ["det", "nsubj", "ROOT", "advmod", "punct"])  # fmt: skip
    counts = Counter()
    assert find_instances(doc, counts=counts) == []
    assert counts["candidates"] == 1 and counts["dropped_mismatch"] == 1 and counts["instances"] == 0


def test_space_tokens_skipped_and_rules(nlp):
    # "Dogs \n near the farm run ." : whitespace token skipped in indices;
    # "farm" is an attractor (NN vs NNS); an NNP subject and a past-tense verb do not count.
    doc = _doc(
        nlp,
        ["Dogs", "\n", "near", "the", "farm", "run", "."],
        ["NNS", "_SP", "IN", "DT", "NN", "VBP", "."],
        [5, 0, 0, 4, 2, 5, 5],
        ["nsubj", "dep", "prep", "det", "pobj", "ROOT", "punct"],
        spaces=[True, False, True, True, True, False, False],
    )
    (inst,) = find_instances(doc)
    assert inst["prefix"] == ["Dogs", "near", "the", "farm"]
    assert inst["subject_index"] == 0 and inst["verb_index"] == 4 and inst["distance"] == 4
    assert inst["n_intervening"] == 1 and inst["n_attractors"] == 1

    past = _doc(nlp, ["Dogs", "ran", "."], ["NNS", "VBD", "."], [1, 1, 1], ["nsubj", "ROOT", "punct"])
    proper = _doc(nlp, ["John", "runs", "."], ["NNP", "VBZ", "."], [1, 1, 1], ["nsubj", "ROOT", "punct"])
    inverted = _doc(nlp, ["Here", "is", "the", "dog", "."], ["RB", "VBZ", "DT", "NN", "."],
                    [1, 1, 3, 1, 1], ["advmod", "ROOT", "det", "nsubj", "punct"])  # fmt: skip
    assert find_instances(past) == find_instances(proper) == find_instances(inverted) == []


def test_sentence_length_cap(nlp):
    words = ["Cats"] + ["very"] * 10 + ["sleep", "."]
    tags = ["NNS"] + ["RB"] * 10 + ["VBP", "."]
    heads = [11] + [11] * 10 + [11, 11]
    deps = ["nsubj"] + ["advmod"] * 10 + ["ROOT", "punct"]
    doc = _doc(nlp, words, tags, heads, deps)
    counts = Counter()
    assert find_instances(doc, max_sentence_len=12, counts=counts) == []
    assert counts["sentences_too_long"] == 1
    assert len(find_instances(doc, max_sentence_len=13)) == 1


def test_build_agreement_stats(nlp):
    texts = [CHECK, "Nothing here.", "The players on the team want a new coach."]
    instances, stats = build_agreement(texts, nlp, batch_size=2, progress=False)
    assert stats["texts"] == 3
    assert stats["sentences"] >= 3
    assert stats["instances"] == len(instances) >= 3
    assert stats["candidates"] == stats["instances"] + stats["dropped_mismatch"]
    assert sum(stats["attractors"].values()) == len(instances)
    assert stats["attractors"][1] == 3  # keys/cabinet, author/books, players/team
    assert stats["max_sentence_len"] == 50 and stats["seconds"] >= 0
    assert [i["verb"] for i in instances] == ["are", "says", "want"]  # text order kept


def test_load_spacy_missing_model():
    with pytest.raises(MissingAssetError, match="not installed"):
        load_spacy("no_such_spacy_model_xyz")


# --------------------------------------------------------------------------- split and vocab


def _many(n):
    return [_inst(["the", f"w{i}"], ["DT", "NN"], "is", "singular", 1) for i in range(n)]


def test_split_deterministic_and_disjoint():
    data = _many(103)
    a = split_instances(data, seed=42, fractions=(0.8, 0.1, 0.1))
    b = split_instances(data, seed=42, fractions=(0.8, 0.1, 0.1))
    c = split_instances(data, seed=7, fractions=(0.8, 0.1, 0.1))
    assert {k: len(v) for k, v in a.items()} == {"train": 82, "valid": 10, "test": 11}
    assert a == b
    assert [i["prefix"] for i in a["train"]] != [i["prefix"] for i in c["train"]]
    ids = [id(i) for part in a.values() for i in part]
    assert len(ids) == len(set(ids)) == len(data)  # disjoint and complete
    assert [i["prefix"] for i in a["train"]] != [i["prefix"] for i in data[:82]]  # actually shuffled
    with pytest.raises(ValueError):
        split_instances(data, seed=0, fractions=(0.5, 0.5, 0.5))


def test_vocab_rare_words_become_tags_and_encode():
    train = [
        _inst(["The", "dog", "near", "the", "farm"], ["DT", "NN", "IN", "DT", "NN"], "runs", "singular", 1, 1, 0),
        _inst(["The", "dog", "in", "the", "barns"], ["DT", "NN", "IN", "DT", "NNS"], "runs", "singular", 1, 1, 1),
    ]
    vocab = build_vocab(train, min_count=2)
    assert [vocab["<pad>"], vocab["<unk>"], vocab["<cls>"]] == [0, 1, 2]
    assert set(PTB_TAGS) <= set(vocab)
    assert "the" in vocab and "dog" in vocab  # 4x and 2x
    assert "The" not in vocab  # lower-cased
    for rare in ("near", "farm", "in", "barns"):
        assert rare not in vocab
    assert sorted(vocab.values()) == list(range(len(vocab)))

    ids = encode(["The", "DOG", "near", "a", "zebra"], ["DT", "NN", "IN", "DT", "NOT_A_TAG"], vocab)
    assert ids == [vocab["the"], vocab["dog"], vocab["IN"], vocab["DT"], vocab["<unk>"]]
    with pytest.raises(ValueError):
        encode(["a"], [], vocab)
    # min_count=1 keeps every training word
    assert {"near", "farm", "in", "barns"} <= set(build_vocab(train, min_count=1))


# --------------------------------------------------------------------------- TSV


def test_tsv_round_trip(nlp, tmp_path):
    instances = find_instances(nlp(CHECK)) + [
        _inst(["Dogs", "near", "the", "farm"], ["NNS", "IN", "DT", "NN"], "run", "plural", 0, 1, 1)
    ]
    path = tmp_path / "sub" / "agr.tsv"
    assert write_tsv(instances, path) == 3
    assert path.read_text(encoding="utf-8").splitlines()[0] == "\t".join(TSV_COLUMNS)
    assert read_tsv(path) == instances
    assert [p.name for p in path.parent.iterdir()] == ["agr.tsv"]  # no temp file left


def test_tsv_drops_tokens_with_whitespace(tmp_path):
    good = _inst(["The", "dog"], ["DT", "NN"], "runs", "singular", 1)
    bad = _inst(["The", "big dog"], ["DT", "NN"], "runs", "singular", 1)
    path = tmp_path / "x.tsv"
    assert write_tsv([good, bad], path) == 1
    assert read_tsv(path) == [good]


def test_write_tsv_is_atomic(tmp_path):
    path = tmp_path / "agr.tsv"
    write_tsv([_inst(["The", "dog"], ["DT", "NN"], "runs", "singular", 1)], path)
    before = path.read_bytes()

    def broken():
        yield _inst(["A", "cat"], ["DT", "NN"], "sleeps", "singular", 1)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_tsv(broken(), path)
    assert path.read_bytes() == before  # old complete file untouched
    assert [p.name for p in tmp_path.iterdir()] == ["agr.tsv"]


@pytest.mark.parametrize(
    "row, what",
    [
        ("singular\t0\t0\t1\truns\tThe dog", "expected 7 tab-separated columns, got 6"),
        ("single\t0\t0\t1\truns\tThe dog\tDT NN", "label 'single'"),
        ("singular\tx\t0\t1\truns\tThe dog\tDT NN", "n_attractors 'x' is not an integer"),
        ("singular\t0\t0\t5\truns\tThe dog\tDT NN", "distance 5 outside 1..2"),
        ("singular\t0\t0\t1\truns\tThe dog\tDT", "prefix has 2 words but 1 tags"),
        ("singular\t2\t1\t1\truns\tThe dog\tDT NN", "n_attractors 2 > n_intervening 1"),
    ],
)
def test_read_tsv_malformed_line(tmp_path, row, what):
    path = tmp_path / "bad.tsv"
    good = "plural\t0\t0\t1\trun\tThe dogs\tDT NNS"
    path.write_text("\t".join(TSV_COLUMNS) + f"\n{good}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        read_tsv(path)
    assert f"{path}:3" in str(err.value) and what in str(err.value)


def test_read_tsv_bad_header_and_missing(tmp_path):
    path = tmp_path / "h.tsv"
    path.write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}:1: header"):
        read_tsv(path)
    with pytest.raises(MissingAssetError):
        read_tsv(tmp_path / "none.tsv")


# --------------------------------------------------------------------------- Linzen's file


def _linzen_row(**kw):
    row = dict.fromkeys(LINZEN_COLUMNS, "")
    row.update(has_rel="False", has_nsubj="False", max_depth="0", last_intervening="NN")
    row.update(kw)
    return [row[c] for c in LINZEN_COLUMNS]


def _write_linzen(path: Path, rows):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t")
    writer.writerow(LINZEN_COLUMNS)
    writer.writerows(rows)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(buf.getvalue())


ROW_PLURAL = _linzen_row(
    sentence="the keys to the NN are on the table .",
    orig_sentence="the keys to the cabinet are on the table .",
    pos_sentence="DT NNS IN DT NN VBP IN DT NN .",
    subj="keys", verb="are", subj_pos="NNS", verb_pos="VBP",
    subj_index="2", verb_index="6", n_intervening="1", n_diff_intervening="1", distance="4",
)  # fmt: skip
ROW_SINGULAR = _linzen_row(
    sentence='the author says " nothing " .',
    orig_sentence='the author says " nothing " .',
    pos_sentence="DT NN VBZ `` NN '' .",
    subj="author", verb="says", subj_pos="NN", verb_pos="VBZ",
    subj_index="2", verb_index="3", n_intervening="0", n_diff_intervening="0", distance="1",
)  # fmt: skip


def test_read_linzen_tiny_gz(tmp_path):
    path = tmp_path / "agr_50_mostcommon_10K.tsv.gz"
    _write_linzen(path, [ROW_PLURAL, ROW_SINGULAR])
    plural, singular = read_linzen(path)
    assert tuple(plural) == INSTANCE_KEYS
    assert plural["prefix"] == ["the", "keys", "to", "the", "cabinet"]
    assert plural["prefix_tags"] == ["DT", "NNS", "IN", "DT", "NN"]
    assert (plural["label"], plural["verb"], plural["verb_tag"]) == ("plural", "are", "VBP")
    assert (plural["subject"], plural["subject_index"], plural["verb_index"]) == ("keys", 1, 5)
    assert (plural["n_intervening"], plural["n_attractors"], plural["distance"]) == (1, 1, 4)
    assert singular["prefix"] == ["the", "author"] and singular["label"] == "singular"
    assert singular["n_attractors"] == 0

    # Linzen's own vocabulary-controlled column, and the row limit
    (pos_version,) = read_linzen(path, words="sentence", limit=1)
    assert pos_version["prefix"] == ["the", "keys", "to", "the", "NN"]

    # plain (not gzipped) file works too, and its instances survive our TSV format
    plain = tmp_path / "agr.tsv"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    assert read_linzen(plain) == [plural, singular]
    write_tsv([plural, singular], tmp_path / "ours.tsv")
    assert read_tsv(tmp_path / "ours.tsv") == [plural, singular]


def test_read_linzen_malformed_row(tmp_path):
    bad = list(ROW_SINGULAR)
    bad[LINZEN_COLUMNS.index("verb_index")] = "9"
    path = tmp_path / "bad.tsv.gz"
    _write_linzen(path, [ROW_PLURAL, bad])
    with pytest.raises(ValueError, match=rf"{path}:3: need 1 <= subj_index 2 < verb_index 9"):
        read_linzen(path)
    with pytest.raises(MissingAssetError, match="agr_50"):
        read_linzen(tmp_path / "agr_50_mostcommon_10K.tsv.gz")


def test_tsv_source_column_round_trip_and_old_files(tmp_path):
    a = _inst(["The", "dog"], ["DT", "NN"], "runs", "singular", 1)
    b = _inst(["Dogs", "near", "the", "farm"], ["NNS", "IN", "DT", "NN"], "run", "plural", 0, 1, 1)
    with_source = [{**a, "source": "wikipedia"}, {**b, "source": "lee"}]
    path = tmp_path / "s.tsv"
    assert write_tsv(with_source, path) == 2
    assert path.read_text().splitlines()[0].split("\t")[-1] == "source"
    assert read_tsv(path) == with_source
    assert write_tsv([with_source[0], b], path) == 2  # not every instance has one: no column
    assert path.read_text().splitlines()[0] == "\t".join(TSV_COLUMNS)
    assert read_tsv(path) == [a, b]
    path.write_text("\t".join(TSV_COLUMNS + ("source",)) + "\n" + "singular\t0\t0\t1\truns\tThe dog\tDT NN\t\n")
    with pytest.raises(ValueError, match="empty source"):
        read_tsv(path)


def test_build_agreement_records_sources(nlp):
    texts = [CHECK, "The players on the team want a new coach."]
    instances, stats = build_agreement(texts, nlp, progress=False, sources=["wikipedia", "lee"])
    assert [i["source"] for i in instances] == ["wikipedia", "wikipedia", "lee"]
    assert stats["instances_by_source"] == {"lee": 1, "wikipedia": 2}
    with pytest.raises(ValueError):
        build_agreement(texts, nlp, progress=False, sources=["wikipedia"])
