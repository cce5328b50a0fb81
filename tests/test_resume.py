"""Resume, not redo; and determinism of the run itself.

A run of the tiny workflow is killed (SIGKILL to its whole process group, as a crash or a closed laptop
would) after its first jobs have finished and while another is running. The killed job's outputs are
then made half-written on purpose. A plain rerun must plan that job again (``profiles/default`` sets
``rerun-incomplete``), the rerun must finish the run without redoing the finished jobs, and the figure
data must equal, byte for byte, those of the uninterrupted tiny run (the session's ``tiny_run``, made in
another folder): the two runs are the determinism check too.
"""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from workflow_utils import ROOT, copy_workflow, snakemake

pytestmark = pytest.mark.workflow

TINY = str(ROOT / "tests/data/config_tiny.yaml")
FINISHED = re.compile(r"Finished jobid: (\d+) \(Rule: (\S+)\)")


def _jobs(text: str) -> list[dict]:
    """Jobs of a Snakemake log in start order: rule, jobid and outputs."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \S+:\n)", text):
        m = re.match(r"(?:local)?rule (\S+):\n", block)
        if not m:
            continue
        out = re.search(r"^\s+output: (.*)$", block, re.M)
        jid = re.search(r"^\s+jobid: (\d+)$", block, re.M)
        jobs.append({"rule": m.group(1), "jobid": int(jid.group(1)) if jid else None,
                     "outputs": [o.strip() for o in out.group(1).split(",")] if out else []})
    return jobs


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    wf = copy_workflow(tmp_path_factory.mktemp("resume"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    log = wf / "first.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", TINY],
                                cwd=wf, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 900
    try:
        while time.time() < deadline:  # two jobs done and a third started: kill it mid-run
            text = log.read_text()
            done = FINISHED.findall(text)
            if len(done) >= 2 and len(_jobs(text)) > len(done):
                time.sleep(1.0)
                break
            if proc.poll() is not None:
                pytest.fail("the tiny run ended before it could be interrupted:\n" + text[-3000:])
            time.sleep(0.2)
        else:
            pytest.fail("the tiny run did not reach its third job in 15 minutes")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    text = log.read_text()
    finished = {int(j) for j, _ in FINISHED.findall(text)}
    jobs = _jobs(text)
    done = [j for j in jobs if j["jobid"] in finished]
    killed = [j for j in jobs if j["jobid"] not in finished]
    assert killed, "no job was running when the run was killed"
    stamps = {o: (wf / o).stat().st_mtime_ns for j in done for o in j["outputs"]}
    for job in killed:  # what a crash leaves: half-written outputs
        for o in job["outputs"]:
            (wf / o).parent.mkdir(parents=True, exist_ok=True)
            with open(wf / o, "a") as fh:
                fh.write("half-written\n")
    unlock = snakemake(wf, "--unlock", "--configfile", TINY)
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    plain = snakemake(wf, "--cores", "2", "--configfile", TINY, "-n")
    rerun = snakemake(wf, "--cores", "2", "--rerun-incomplete", "--configfile", TINY)
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-5000:]
    return {"wf": wf, "done": done, "killed": killed, "stamps": stamps, "plain": plain, "rerun": rerun}


def test_killed_job_outputs_are_not_taken_as_done(resumed):
    # a plain rerun (profiles/default sets rerun-incomplete) plans the killed job again although its outputs exist
    plain = resumed["plain"].stdout + resumed["plain"].stderr
    planned = [j["rule"] for j in _jobs(plain)]
    for job in resumed["killed"]:
        assert job["rule"] in planned, f"{job['rule']}'s half-written outputs were taken as done:\n{plain[-3000:]}"
    rerun_rules = [j["rule"] for j in _jobs(resumed["rerun"].stdout + resumed["rerun"].stderr)]
    for job in resumed["killed"]:
        assert job["rule"] in rerun_rules, f"the killed job {job['rule']} was not run again"
        for o in job["outputs"]:
            assert "half-written" not in (resumed["wf"] / o).read_bytes()[-20:].decode("latin-1"), o


def test_finished_jobs_are_not_run_again(resumed):
    rerun = _jobs(resumed["rerun"].stdout + resumed["rerun"].stderr)
    rerun_outputs = {o for j in rerun for o in j["outputs"]}
    for job in resumed["done"]:
        assert not set(job["outputs"]) & rerun_outputs, f"{job['rule']} ran again"
    for path, stamp in resumed["stamps"].items():
        assert (resumed["wf"] / path).stat().st_mtime_ns == stamp, f"{path} was rewritten"


def test_two_runs_give_byte_identical_figure_data(resumed, tiny_run):
    """The interrupted-and-resumed run and the uninterrupted session run, in separate folders: every figure data
    file (CSV) is byte-identical, and so is each verdict."""
    ours = sorted((resumed["wf"] / "figures").glob("*/*.csv"))
    theirs = sorted((tiny_run / "figures").glob("*/*.csv"))
    assert [p.relative_to(resumed["wf"]) for p in ours] == [p.relative_to(tiny_run) for p in theirs]
    timing = {"michel2019/table4.csv"}  # inference timings: not deterministic by nature
    differ = [str(p.relative_to(resumed["wf"])) for p, q in zip(ours, theirs)
              if f"{p.parent.name}/{p.name}" not in timing and p.read_bytes() != q.read_bytes()]
    assert not differ, f"figure data differ between two runs of the same configuration: {differ}"
    for v in sorted((tiny_run / "results").glob("*/*.verdict.json")):
        mine = resumed["wf"] / v.relative_to(tiny_run)
        if "michel2019/table4" not in str(v):
            assert mine.read_bytes() == v.read_bytes(), str(v.relative_to(tiny_run))
