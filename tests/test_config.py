"""Bad configuration stops the workflow before any job runs, with a message naming the key."""

import pytest
import yaml

from workflow_utils import copy_workflow, snakemake


@pytest.fixture(scope="module")
def wf(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("wf"))


def run_with(wf, override: dict, name: str):
    path = wf / f"{name}.yaml"
    path.write_text(yaml.safe_dump(override))
    return snakemake(wf, "-n", "--configfile", str(path))


def test_default_dry_run_resolves(wf):
    res = snakemake(wf, "-n", "--quiet", "rules")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "finetune_classifier" in res.stdout + (res.stdout + res.stderr)


def test_unknown_key(wf):
    res = run_with(wf, {"abnar2020flow": {"sva": {"exampels": 10}}}, "typo")
    assert res.returncode != 0
    assert "exampels" in (res.stdout + res.stderr)


def test_bad_value(wf):
    res = run_with(wf, {"abnar2020flow": {"table3": {"aggregate": "mean"}}}, "badvalue")
    assert res.returncode != 0
    assert "mean" in (res.stdout + res.stderr) and "aggregate" in (res.stdout + res.stderr)


def test_unknown_model_name(wf):
    res = run_with(wf, {"abnar2020flow": {"fig4": {"model": "bert-huge"}}}, "badmodel")
    assert res.returncode != 0
    assert "abnar2020flow.fig4.model" in (res.stdout + res.stderr) and "bert-huge" in (res.stdout + res.stderr)


def test_local_data_needs_column_order(wf):
    res = run_with(wf, {"data": {"tasks": {"sentiment": {"source": "local", "path": "/nowhere"}}}}, "nocolumns")
    assert res.returncode != 0
    assert "label_first" in (res.stdout + res.stderr)


def test_slurm_profile_resolves_gpu_resources(wf):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    res = snakemake(wf, "-n", "--workflow-profile", "profiles/slurm", "--configfile", "config/paper.yaml")
    out = res.stdout + (res.stdout + res.stderr)
    assert res.returncode == 0, out[-3000:]
    blocks = out.split("\nrule ")
    train = next(b for b in blocks if b.startswith("train_agreement_transformer:"))
    assert "gpu=1" in train and "slurm_partition=gpu" in train
    prep = next(b for b in blocks if b.startswith("prepare_agreement:"))
    assert "gpu=" not in prep and "mem_mb=8000" in prep


def test_missing_treebank_says_how_to_get_it(wf):
    res = run_with(wf, {"pascual2021": {"table1": {"treebank": {"source": "local", "path": "/nowhere/en_ewt-ud-dev.conllu"}}}},
                   "notreebank")
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "pascual2021.table1.treebank.path" in out and "/nowhere/en_ewt-ud-dev.conllu" in out
    assert "UD_English-EWT" in out and "source: spacy" in out


def test_local_treebank_needs_a_path(wf):
    res = run_with(wf, {"pascual2021": {"table1": {"treebank": {"source": "local"}}}}, "treebanknopath")
    assert res.returncode != 0
    assert "path" in (res.stdout + res.stderr)


@pytest.mark.parametrize("override", [{"probes": ["cnn"]}, {"losses": ["hinge"]}, {"folds": 2}, {"lrs": []},
                                      {"patiense": 3}])
def test_probe_options_are_validated(wf, override):
    res = run_with(wf, {"brunner2020": {"fig2": override}}, "probes")
    assert res.returncode != 0
    assert "fig2" in (res.stdout + res.stderr) or next(iter(override)) in (res.stdout + res.stderr)


def test_kovaleva_unknown_task(wf):
    res = run_with(wf, {"kovaleva2019": {"tasks": ["sentiment", "mrpc"]}}, "kotask")
    assert res.returncode != 0
    assert "kovaleva2019.tasks" in (res.stdout + res.stderr) and "mrpc" in (res.stdout + res.stderr)


def test_paper_scale_kovaleva_resolves(wf):
    res = snakemake(wf, "-n", "runs/paper/figures/kovaleva2019/table1.png", "runs/paper/figures/kovaleva2019/fig2.png",
                    "--configfile", "config/paper.yaml")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    out = res.stdout + res.stderr
    assert "bert_base_scratch" in out and "mnli" in out and "stsb" in out


@pytest.mark.parametrize("override,words", [
    ({"michel2019": {"curve_tasks": ["sentiment", "mnli"]}}, ["michel2019.curve_tasks[1]", "mnli"]),
    ({"michel2019": {"fig2": {"model": {"finetune": "minilm", "task": "sentiment"}, "split_by": "source",
                              "domains": ["wikipedia", "lee"], "examples": 100}}}, ["michel2019.fig2", "agreement"]),
    ({"michel2019": {"fig2": {"model": {"finetune": "minilm", "task": "number"}, "split_by": "task",
                              "domains": ["sentiment", "mnli_mm"], "examples": 100}}}, ["michel2019.fig2.domains[1]"]),
    ({"michel2019": {"table4": {"batch_sizes": [16, 64], "prune_fraction": 1.0, "examples": 8, "repeats": 1,
                                "threads": 1}}}, ["prune_fraction"]),
    ({"michel2019": {"mt": {"data": {"held_out": 100}}}}, ["michel2019.mt.data", "held_out (100)"]),
])
def test_michel_bad_config(wf, override, words):
    res = run_with(wf, override, "michel")
    out = res.stdout + res.stderr
    assert res.returncode != 0 and all(w in out for w in words), out[-2000:]


def test_michel_fig2_can_be_switched_off(wf):
    res = run_with(wf, {"michel2019": {"fig2": None}}, "nofig2")
    assert res.returncode == 0, (res.stdout + res.stderr)[-2000:]
    assert "michel2019_domains" not in res.stdout + res.stderr


def test_paper_scale_framenet_dry_run_needs_no_data(wf):
    res = snakemake(wf, "-n", "runs/paper/figures/kovaleva2019/fig3.png", "--configfile", "config/paper.yaml")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert "kovaleva2019_framenet" in res.stdout + res.stderr


def test_missing_framenet_stops_before_any_job(wf, tmp_path):
    """source: nltk without FrameNet 1.7 installed: one clear error in onstart, before the first job."""
    import os

    import nltk

    if any(os.path.isdir(os.path.join(p, "corpora", "framenet_v17")) for p in nltk.data.path):
        pytest.skip("FrameNet 1.7 is installed here")
    path = wf / "fn_nltk.yaml"
    path.write_text(yaml.safe_dump({"kovaleva2019": {"framenet": {"source": "nltk"}}}))
    res = snakemake(wf, "--cores", "1", "figures/kovaleva2019/fig3.png", "--configfile", str(path))
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "python -m nltk.downloader framenet_v17" in out and "NLTK_DATA" in out
    assert not (wf / "results" / "kovaleva2019" / "framenet.json").exists() and not (wf / "logs").exists()


def test_framenet_bad_example_id(wf):
    res = run_with(wf, {"kovaleva2019": {"framenet": {"example": "nosuch"}}}, "fnid")
    assert res.returncode != 0
    assert "kovaleva2019.framenet.example" in (res.stdout + res.stderr) and "agitated" in (res.stdout + res.stderr)


STSB_LOCAL = {"source": "local", "path": "/my/glue/STS-B", "test": "dev.tsv", "text_columns": [-3, -2],
              "label_column": -1, "metric": "corr"}


@pytest.mark.parametrize("tasks,extra,words", [
    # a regression task needs float scores: not the Pang & Lee or agreement labels
    ({"sentiment": {"source": "gensim", "metric": "corr"}}, {}, ["local", "hub"]),
    ({"stsb": {**STSB_LOCAL, "label_first": True}}, {}, ["data.tasks.stsb", "label_first", "not both"]),
    ({"stsb": {**STSB_LOCAL, "label_column": "score"}}, {}, ["data.tasks.stsb", "column number"]),
    ({"stsb": {"source": "hub", "id": "nyu-mll/glue", "subset": "stsb", "text_columns": [-3, -2], "metric": "corr"}},
     {}, ["data.tasks.stsb", "column names"]),
    # targets that need class labels refuse a regression task before any job runs
    ({"stsb": STSB_LOCAL}, {"michel2019": {"model": {"finetune": "minilm", "task": "stsb"}}},
     ["michel2019.model.task", "stsb", "regression"]),
    ({"stsb": STSB_LOCAL}, {"abnar2020flow": {"table3": {"model": {"finetune": "minilm", "task": "stsb"}}}},
     ["abnar2020flow.table3.model.task", "regression"]),
])
def test_regression_task_bad_config(wf, tasks, extra, words):
    res = run_with(wf, {"data": {"tasks": tasks}, **extra}, "regression")
    out = res.stdout + res.stderr
    assert res.returncode != 0 and all(w in out for w in words), out[-2000:]


def test_regression_task_resolves_for_kovaleva_and_michel_curves(wf):
    """A local STS-B folder as a task: Kovaleva's table1/fig8 and a Michel fig6 curve accept it."""
    res = run_with(wf, {"data": {"tasks": {"stsb": STSB_LOCAL}},
                        "kovaleva2019": {"tasks": ["sentiment", "stsb"]},
                        "michel2019": {"curve_tasks": ["sentiment", "number", "stsb"]}}, "stsb")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-2000:]
    assert "minilm_scratch/stsb" in out and "curves/stsb.json" in out


def test_missing_local_folder_stops_before_any_job(wf):
    """A source: local folder that does not exist: one clear error before the first job (dry runs resolve)."""
    path = wf / "nofolder.yaml"
    path.write_text(yaml.safe_dump({"data": {"tasks": {"sst2": {"source": "local", "path": "/nowhere/sst2",
                                                                 "label_first": True}}},
                                    "kovaleva2019": {"tasks": ["sst2"]}}))
    assert snakemake(wf, "-n", "--configfile", str(path)).returncode == 0
    res = snakemake(wf, "--cores", "1", "figures/kovaleva2019/table1.png", "--configfile", str(path))
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "data.tasks.sst2.path" in out and "/nowhere/sst2" in out
    assert not (wf / "data").exists() and not (wf / "logs").exists()
