"""Every registered target's function on tiny canned results (parametrised over the registry of the tiny
configuration; no DAG): it draws its figure, writes its data file and gets a verdict from the judge.

The canned results are the run outputs of one tiny workflow run (tests/make_canned.py rebuilds them)."""

import shutil
from pathlib import Path

import pytest

from replicate import execute, spec
from replicate.verdicts import VERDICTS

ROOT = Path(__file__).resolve().parents[1]
CANNED = ROOT / "tests" / "data" / "canned"
CONFIG = spec.load_config(ROOT / "tests" / "data" / "config_tiny.yaml")
PAPERS, _ = spec.registry(CONFIG)
CASES = [(key, t.id) for key, paper in PAPERS.items() for t in paper.targets]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    if not CANNED.is_dir():
        pytest.skip("tests/data/canned is missing: python tests/make_canned.py <finished tiny workflow>")
    import torch

    torch.set_num_threads(1)
    ws = tmp_path_factory.mktemp("canned")
    shutil.copytree(CANNED, ws, dirs_exist_ok=True)
    return ws


def _paths(group):
    for value in group.values():
        yield from ([value] if isinstance(value, str) else value)


@pytest.mark.parametrize("paper,tid", CASES, ids=[f"{p}/{t}" for p, t in CASES])
def test_target_on_canned_results(workspace, monkeypatch, paper, tid):
    monkeypatch.chdir(workspace)
    target = PAPERS[paper].target(tid)
    missing = [p for p in _paths(target.inputs) if not Path(p).exists()]
    assert not missing, f"canned results lack {missing}: rebuild them with tests/make_canned.py"
    call = target.call(CONFIG["paths"]["figures"], CONFIG["paths"]["results"])
    row = execute.target(paper, tid, call)
    assert row["verdict"] in VERDICTS and row["marker"]
    for name, path in call["outputs"].items():
        assert Path(path).stat().st_size > 0, name


def test_light_target_modules_load_no_torch():
    """Target jobs start without torch where their module needs none (a second saved per job; the
    `target` verb imports torch only through the target's module, and the targets that run a model
    import it inside their function)."""
    import subprocess
    import sys

    code = ("import sys, replicate.cli, replicate.execute, replicate.papers.michel2019.targets, "
            "replicate.papers.michel2019.mt_targets, replicate.papers.kovaleva2019.targets, "
            "replicate.papers.abnar2020flow.targets, replicate.papers.brunner2020.targets, "
            "replicate.papers.pascual2021.targets, replicate.papers.voita2019heads.targets; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
