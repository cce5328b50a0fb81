"""benchmarks/profile_dag.py on a hand-made Snakemake log and benchmark files."""

import importlib.util

import pytest

from workflow_utils import ROOT

spec = importlib.util.spec_from_file_location("profile_dag", ROOT / "benchmarks" / "profile_dag.py")
profile_dag = importlib.util.module_from_spec(spec)
spec.loader.exec_module(profile_dag)

LOG = """Provided cores: 2
Select jobs to execute...
[Sun Dec  6 05:00:00 2026]
localrule a:
    output: data/a.txt
    jobid: 1
    benchmark: logs/bench/a.tsv
    threads: 1
[Sun Dec  6 05:00:00 2026]
localrule c:
    output: data/c.txt
    jobid: 3
    benchmark: logs/bench/c.tsv
    threads: 1
[Sun Dec  6 05:00:05 2026]
Finished jobid: 3 (Rule: c)
[Sun Dec  6 05:00:10 2026]
Finished jobid: 1 (Rule: a)
[Sun Dec  6 05:00:10 2026]
localrule b:
    input: data/a.txt
    output: data/b.txt
    log: logs/b.log
    jobid: 2
    benchmark: logs/bench/b.tsv
    threads: 1
[Sun Dec  6 05:00:30 2026]
Finished jobid: 2 (Rule: b)
"""


def _bench(path, wall, cpu, rss):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                    f"{wall}\t0:00:{int(wall):02d}\t{rss}\t1\t1\t1\t0\t0\t0\t{cpu}\n")


def test_profile_of_a_hand_made_run(tmp_path):
    (tmp_path / ".snakemake" / "log").mkdir(parents=True)
    (tmp_path / ".snakemake" / "log" / "2026-12-06T050000.000000.snakemake.log").write_text(LOG)
    _bench(tmp_path / "logs/bench/a.tsv", 10.0, 9.0, 300)
    _bench(tmp_path / "logs/bench/b.tsv", 20.0, 18.0, 700)
    _bench(tmp_path / "logs/bench/c.tsv", 5.0, 5.0, 100)
    p = profile_dag.profile(str(tmp_path))
    assert p["cores"] == 2 and len(p["jobs"]) == 3
    assert p["makespan"] == 30
    assert p["critical_path"] == 30 and [j["rule"] for j in p["chain"]] == ["a", "b"]
    assert p["sum_cpu"] == 32 and p["idle_share"] == pytest.approx(1 - 32 / 60)
    assert p["peak_rss"] == 700
    # two jobs run in the first 5 s, one for the other 25
    assert p["concurrency"][2] == pytest.approx(5 / 30) and p["concurrency"]["fewer_than_cores"] == pytest.approx(25 / 30)
    text = profile_dag.report(p, top=2)
    assert "critical path: 30 s" in text and "(1 more)" in text


def test_exact_cpu_from_the_job_log_wins_over_the_sampled_one(tmp_path):
    """A job's own resources line (getrusage at exit) replaces Snakemake's sampled CPU time; its memory is the
    larger of the two; a job without the line keeps the benchmark's numbers."""
    (tmp_path / ".snakemake" / "log").mkdir(parents=True)
    (tmp_path / ".snakemake" / "log" / "2026-12-06T050000.000000.snakemake.log").write_text(LOG)
    _bench(tmp_path / "logs/bench/a.tsv", 10.0, 9.0, 300)
    _bench(tmp_path / "logs/bench/b.tsv", 20.0, 2.0, 700)  # sampled: most of the job's CPU time missed
    _bench(tmp_path / "logs/bench/c.tsv", 5.0, 5.0, 100)
    (tmp_path / "logs/b.log").write_text("training...\nreplicate resources: cpu_s=19.50 max_rss_mb=812\n")
    p = profile_dag.profile(str(tmp_path))
    b = next(j for j in p["jobs"] if j["rule"] == "b")
    assert b["cpu"] == 19.5 and b["rss"] == 812 and b["exact_cpu"]
    assert p["sum_cpu"] == pytest.approx(9 + 19.5 + 5) and p["jobs_with_exact_cpu"] == 1


def test_the_cli_writes_its_resources_line(tmp_path):
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "replicate", "scorecard", "--out", f"md={tmp_path / 's.md'}",
                          "--params", "{}"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr.strip().splitlines()[-1].startswith("replicate resources:"), res.stderr
    (tmp_path / "job.log").write_text(res.stderr)
    found = profile_dag.job_resources(str(tmp_path / "job.log"))
    assert found["cpu_s"] > 0 and found["max_rss_mb"] > 10
