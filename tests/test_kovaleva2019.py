"""kovaleva2019 package: the declaration (config checks, params, no torch at parse time) and the judged
values of the targets on hand-made run outputs."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from replicate import spec
from replicate.verdicts import judge

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def declare(**override):
    cfg = copy.deepcopy(CONFIG)
    for k, v in override.items():
        cfg["kovaleva2019"][k] = {**cfg["kovaleva2019"][k], **v} if isinstance(v, dict) else v
    return spec.declare(cfg, "kovaleva2019")


def test_declare_imports_no_torch():
    code = ("import sys, yaml; from replicate import spec; "
            f"cfg = yaml.safe_load(open({str(ROOT / 'config' / 'config.yaml')!r})); spec.declare(cfg, 'kovaleva2019'); "
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]


def test_runs_targets_and_params():
    paper = declare()
    names = [r.name for r in paper.runs]
    tasks = CONFIG["kovaleva2019"]["tasks"]
    assert names == [f"analysis_{t}" for t in tasks] + ["patterns", "framenet"]
    assert [t.id for t in paper.targets] == ["table1", "fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8",
                                             "fig9"]
    analysis = paper.runs[0]
    assert analysis.inputs["model"].endswith(f"minilm/{tasks[0]}/seed{CONFIG['seed']}/config.json")
    assert analysis.args["model"] == analysis.inputs["model"][: -len("/config.json")]
    # the FrameNet settings and the CNN are not params of the sweeps (changing them must not re-run them)
    for run in paper.runs[:-1]:
        assert "framenet" not in run.params
    assert "cnn" not in analysis.params
    assert "minilm_scratch" in paper.target("table1").inputs[f"scratch_{tasks[0]}"]
    assert all("framenet" not in paper.target(t).params for t in ("table1", "fig2", "fig8"))
    assert paper.target("fig3").extra["maps"].endswith("fig3_maps.csv")
    # a FrameNet setting changes only the FrameNet run and figs 3-4
    other = declare(framenet={"window": 3})
    for a, b in zip(paper.runs, other.runs):
        assert (a.call() == b.call()) == (a.name != "framenet")
    assert all(a.call("f", "r") == b.call("f", "r") for a, b in zip(paper.targets, other.targets)
               if a.id not in ("fig3", "fig4"))


@pytest.mark.parametrize("override,words", [
    ({"tasks": ["sentiment", "mrpc"]}, ["kovaleva2019.tasks", "mrpc"]),
    ({"finetune": "bert"}, ["kovaleva2019.finetune", "minilm"]),
    ({"framenet": {"example": "nosuch"}}, ["kovaleva2019.framenet.example", "agitated"]),
    ({"framenet": {"source": "local", "path": "/no/such.tsv"}}, ["kovaleva2019.framenet.path"]),
])
def test_config_errors(override, words):
    with pytest.raises(spec.ConfigError) as err:
        declare(**override)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_nltk_source_is_checked_before_jobs_not_at_parse_time():
    paper = declare(framenet={"source": "nltk"})
    assert paper.runs[-1].inputs == {} and len(paper.checks) == 1
    assert declare().checks == []


def test_printed_entries_are_readable():
    from replicate.verdicts import check_entry

    for key, entry in spec.printed("kovaleva2019").items():
        check_entry(key, entry)


def _analysis(baseline, single, layer, cosine, cls, sep, L=3, H=2):
    return {"n_layers": L, "n_heads": H, "n_test": 10, "metric": "accuracy", "baseline": baseline,
            "single": single, "layer": layer, "time_single_sweep_s": 1.0, "cosine": cosine,
            "shares_finetuned": {"cls": cls, "sep": sep, "punct": [0.1] * (L * H)},
            "shares_pretrained": {"cls": cls, "sep": sep, "punct": [0.1] * (L * H)}}


@pytest.mark.parametrize("target,good,bad", [
    ("fig8", {"single": [0.5, 0.7, 0.6, 0.6, 0.6, 0.6]}, {"single": [0.5, 0.6, 0.6, 0.6, 0.6, 0.6]}),
    ("fig9", {"layer": [0.6, 0.7, 0.5]}, {"layer": [0.59, 0.58, 0.5]}),
    ("fig5", {"cosine": [0.9, 0.9, 0.5, 0.5, 0.6, 0.6]}, {"cosine": [0.5, 0.5, 0.9, 0.9, 0.6, 0.6]}),
    ("fig6", {"cls": [0.9, 0.9, 0.1, 0.1, 0.1, 0.1], "sep": [0.1, 0.1, 0.1, 0.1, 0.9, 0.9]},
     {"cls": [0.1, 0.1, 0.1, 0.1, 0.9, 0.9], "sep": [0.9, 0.9, 0.1, 0.1, 0.1, 0.1]}),
])
def test_target_verdicts(tmp_path, target, good, bad):
    from replicate.papers.kovaleva2019 import targets

    entry = spec.printed("kovaleva2019")[target]
    base = dict(baseline=0.6, single=[0.6] * 6, layer=[0.6, 0.6, 0.5], cosine=[0.9] * 6, cls=[0.3] * 6, sep=[0.3] * 6)
    verdicts = []
    for i, override in enumerate((good, bad)):
        path = tmp_path / f"a{i}.json"
        path.write_text(json.dumps(_analysis(**{**base, **override})))
        out = {k: str(tmp_path / f"{target}_{i}.{k}") for k in ("png", "csv")}
        result = getattr(targets, target)({"t": str(path)}, {"tasks": ["t"], "model_note": "note", "spacy_model": "x"},
                                          out, entry)
        assert all(np.isfinite(v) for v in result["values"].values())
        verdicts.append(judge(entry, result)["verdict"])
    assert verdicts == ["reproduced", "not reproduced"]
