"""brunner2020 and pascual2021 declarations (no torch): the shared pairs/HTA runs, the config checks and the
claims of printed.yaml judged on hand values."""

import subprocess
import sys

import pytest
import yaml

from replicate import spec, verdicts

ROOT = spec.ROOT


def config(papers=("brunner2020", "pascual2021")):
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["papers"] = list(papers)
    return cfg


def test_shared_runs_declared_once():
    papers, runs = spec.registry(config())
    rules = [r.rule for r in runs]
    assert rules == ["shared_pairs", "shared_hta", "pascual2021_deps", "pascual2021_deps_run"]
    hta = runs[1].outputs["npz"]
    assert all(t.inputs == {"hta": hta} for t in papers["pascual2021"].targets if t.id != "table1")
    assert papers["brunner2020"].target("nullspace").extra == {"rows": "figures/brunner2020/nullspace_rows.csv"}
    # pascual alone still gets the shared runs (configured under brunner2020)
    _, runs = spec.registry(config(["pascual2021"]))
    assert [r.rule for r in runs][:2] == ["shared_pairs", "shared_hta"]


def test_spec_imports_no_torch():
    code = ("import sys, yaml; from replicate import spec; cfg = yaml.safe_load(open('config/config.yaml')); "
            "cfg['papers'] = ['brunner2020', 'pascual2021']; spec.registry(cfg); "
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_local_treebank_must_exist(tmp_path):
    cfg = config()
    cfg["pascual2021"]["table1"]["treebank"] = {"source": "local", "path": str(tmp_path / "missing.conllu")}
    with pytest.raises(spec.ConfigError, match="pascual2021.table1.treebank.path"):
        spec.registry(cfg)
    (tmp_path / "ewt.conllu").write_text("")
    cfg["pascual2021"]["table1"]["treebank"]["path"] = str(tmp_path / "ewt.conllu")
    papers, runs = spec.registry(cfg)
    deps = next(r for r in runs if r.rule == "pascual2021_deps")
    assert deps.inputs == {"source": str(tmp_path / "ewt.conllu")} and deps.outputs["deps"].endswith("/ewt.jsonl")


@pytest.mark.parametrize("key", ["brunner2020", "pascual2021"])
def test_printed_entries(key):
    entries = spec.printed(key)
    for tid, entry in entries.items():
        verdicts.check_entry(tid, entry)
    assert set(entries) == {t.id for t in spec.registry(config())[0][key].targets}


def test_claims_on_hand_values():
    b, p = spec.printed("brunner2020"), spec.printed("pascual2021")
    fig3 = {"median_own_first_layer": 0.45, "median_own_last_layer": 0.12}
    assert verdicts.judge(b["fig3"], {"values": fig3})["verdict"] == "reproduced"
    assert verdicts.judge(b["fig3"], {"values": {**fig3, "median_own_last_layer": 0.6}})["verdict"] == "not reproduced"
    fig2 = {"best_probe_first_layer": 1.0, "best_probe_last_layer": 0.64, "naive_cosine_last_layer": 0.59}
    assert verdicts.judge(b["fig2"], {"values": {**fig2, "cosine_ge_l2_share": 0.9}})["verdict"] == "reproduced"
    assert verdicts.judge(b["fig2"], {"values": fig2})["verdict"] == "not comparable"  # one loss only
    fig4 = {"positional_heads": 2, "persisting_heads": 2, "last_persisting_layer_from_top": 4}
    assert verdicts.judge(p["fig4"], {"values": fig4})["verdict"] == "not reproduced"
    assert verdicts.judge(p["fig4"], {"values": {**fig4, "last_persisting_layer_from_top": 1}})["verdict"] == "reproduced"
    fig2p = {"jsd_layer1": 0.027, "jsd_min_upper_layers": 0.107, "jsd_mean_upper_layers": 0.195}
    assert verdicts.judge(p["fig2"], {"values": fig2p})["verdict"] == "reproduced"
    assert verdicts.judge(p["fig2"], {"values": {**fig2p, "jsd_layer1": 0.2}})["verdict"] == "not reproduced"
