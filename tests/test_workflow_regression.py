"""A regression task (STS-B format) through the real Snakemake DAG: Kovaleva's targets on the hand-written
fixture tests/data/sts_tiny with MiniLM, offline.  Mechanics only (24 toy pairs, one epoch)."""

import json

import pandas as pd
import pytest
import yaml

from workflow_utils import ROOT, copy_workflow, snakemake

pytestmark = pytest.mark.workflow

TARGETS = ("table1", "fig1", "fig2", "fig5", "fig6", "fig7", "fig8", "fig9")


@pytest.fixture(scope="module")
def sts_run(tmp_path_factory):
    wf = copy_workflow(tmp_path_factory.mktemp("sts"))
    cfg = {"scale": "test",
           "data": {"tasks": {"stsb": {"source": "local", "path": str(ROOT / "tests/data/sts_tiny"), "test": "dev.tsv",
                                       "text_columns": [-3, -2], "label_column": -1, "metric": "corr"}}},
           "training": {"finetune": {"epochs": 1}},
           "kovaleva2019": {"tasks": ["stsb"], "examples": 8, "patterns": {"examples": 4, "size": 16},
                            "cnn": {"epochs": 1}}}
    (wf / "sts.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(wf, *[f"figures/kovaleva2019/{t}.png" for t in TARGETS], "--cores", "2", "--configfile", "sts.yaml")
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    return wf


def test_table1_scores_stsb_by_corr(sts_run):
    t1 = pd.read_csv(sts_run / "figures" / "kovaleva2019" / "table1.csv")
    assert len(t1) == 3 and set(t1.metric) == {"corr"} and set(t1.paper_task) == {"STS-B"}
    assert t1.paper.tolist() == pytest.approx([0.331, 0.029, 0.827])  # Table 1, STS-B
    assert t1.majority.isna().all() and t1.ours.between(-1, 1).all()
    for init in ("minilm", "minilm_scratch"):
        m = json.loads((sts_run / "models" / init / "stsb" / "seed0" / "metrics.json").read_text())
        assert m["majority_test"] is None and m["test_scores"]["corr"] == pytest.approx(
            (m["test_scores"]["pearson"] + m["test_scores"]["spearman"]) / 2)
        assert json.loads((sts_run / "models" / init / "stsb" / "seed0" / "config.json").read_text())["problem_type"] == "regression"
    verdict = json.loads((sts_run / "results" / "kovaleva2019" / "table1.verdict.json").read_text())
    assert "stsb: corr" in verdict["ours"] and "paper STS-B 33.1 / 2.9 / 82.7" in verdict["ours"]


def test_head_sweeps_use_corr(sts_run):
    fig8 = pd.read_csv(sts_run / "figures" / "kovaleva2019" / "fig8.csv")
    assert len(fig8) == 72 and set(fig8.metric) == {"corr"} and fig8.score_disabled.between(-1, 1).all()
    fig9 = pd.read_csv(sts_run / "figures" / "kovaleva2019" / "fig9.csv")
    assert len(fig9) == 6 and fig9.baseline.iloc[0] == pytest.approx(fig8.baseline.iloc[0])
    for target in TARGETS:
        for ext in ("png", "pdf", "csv"):
            assert (sts_run / "figures" / "kovaleva2019" / f"{target}.{ext}").stat().st_size > 0
