import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest
import torch


@pytest.fixture
def tiny_bert():
    """A random-init 2-layer, 4-head BERT: mechanics only, no finding is claimed from it."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=32, initializer_range=0.5,
                     attn_implementation="eager")
    return BertModel(cfg).eval()


@pytest.fixture
def tiny_encoder():
    from replicate.models.sva_transformer import CLSEncoderClassifier, EncoderConfig

    torch.manual_seed(0)
    return CLSEncoderClassifier(EncoderConfig(vocab_size=30, d_model=16, n_layers=3, n_heads=4, max_len=16)).eval()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The real Snakemake DAG on tiny inputs (tests/data/config_tiny.yaml), offline: run once per session,
    read by the workflow tests and the report test."""
    from workflow_utils import ROOT, copy_workflow, snakemake

    wf = copy_workflow(tmp_path_factory.mktemp("tiny"))
    res = snakemake(wf, "--cores", "2", "--configfile", str(ROOT / "tests/data/config_tiny.yaml"))
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    return wf


def pytest_collection_modifyitems(config, items):
    """The reproduction check (the whole default, ~20 min) runs last: every other test reports first."""
    items.sort(key=lambda item: item.get_closest_marker("reproduce") is not None)  # stable: order kept otherwise
