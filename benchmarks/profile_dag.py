#!/usr/bin/env python
"""Profile a finished Snakemake run of the suite from its own records.

Reads, in a workflow directory (default: the current one),
  * the run's Snakemake log(s) (``.snakemake/log/*.snakemake.log``; default: every log of the newest run, i.e. the
    newest log and any earlier logs whose jobs it did not redo): each job's start and finish time, rule, threads,
    inputs, outputs and ``benchmark:`` file;
  * each job's ``benchmark:`` file (``logs/bench/...tsv``): wall time ``s``, ``cpu_time`` and ``max_rss`` (MB);
  * each job's own log (its ``log:`` file): the last line ``replicate resources: cpu_s=... max_rss_mb=...`` that
    every ``python -m replicate`` job writes when it exits, with its exact CPU time (user + system, children
    included) and peak memory from ``getrusage``.

Prints one row per job (wall, CPU, peak RSS, threads, start offset), then
  * the makespan (first start to last finish) and the sum of the jobs' wall and CPU times;
  * the critical path: the longest chain of jobs through the DAG (an edge where one job's output is another's
    input), weighted by wall time; no scheduler can finish the run sooner on any number of cores;
  * idle core share: 1 - (sum of CPU time) / (cores x makespan); and the share of the makespan during which fewer
    jobs ran than cores were provided (from the jobs' start/finish times);
  * the peak RSS of any job.

Snakemake's benchmark samples a job's CPU time and memory while it runs (every second at first, then every 30 s),
so its ``cpu_time`` can miss up to 30 s at the end of a job; it is used only for a job whose log has no
resources line (then read it as a lower bound, and the idle share as an upper one). Wall time comes from the
benchmark file and is exact.

    python benchmarks/profile_dag.py [WORKDIR] [--log LOG ...] [--cores N] [--top K] [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import re
import sys
from datetime import datetime

from replicate.report import job_resources

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
RULE = re.compile(r"^(?:local)?rule (\S+):$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\S+)\)")
FIELD = re.compile(r"^\s+(input|output|log|jobid|benchmark|threads|wildcards): (.*)$")
CORES = re.compile(r"^Provided cores: (\d+)")


def parse_log(path: str) -> tuple[list[dict], int | None]:
    """Jobs of one Snakemake log: rule, jobid, threads, inputs, outputs, benchmark, start, end (datetimes)."""
    jobs, open_jobs, cores, now, current = [], {}, None, None, None
    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if m := CORES.match(line):
                cores = int(m.group(1))
            elif m := STAMP.match(line):
                now = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y")
            elif m := RULE.match(line):
                current = {"rule": m.group(1), "start": now, "inputs": [], "outputs": [], "threads": 1,
                           "benchmark": None, "wildcards": "", "log": path, "joblog": None}
            elif current is not None and (m := FIELD.match(line)):
                key, val = m.groups()
                if key in ("input", "output"):
                    current[key + "s"] = [v.strip() for v in val.split(",") if v.strip()]
                elif key == "jobid":
                    current["jobid"] = int(val)
                    open_jobs[current["jobid"]] = current
                elif key == "threads":
                    current["threads"] = int(val)
                elif key == "log":
                    current["joblog"] = val.split(",")[0].strip()
                else:
                    current[key] = val.strip()
            elif m := FINISHED.match(line):
                job = open_jobs.pop(int(m.group(1)), None)
                if job is not None:
                    job["end"] = now
                    jobs.append(job)
                current = None
            elif line and not line.startswith(" "):
                current = None
    return jobs, cores


def read_bench(path: str) -> dict | None:
    if not path or not os.path.isfile(path):
        return None
    with open(path) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows:
        return None
    row = rows[-1]  # a repeated benchmark keeps one row per repeat; the last is the newest

    def num(key):
        try:
            return float(row[key])
        except (KeyError, TypeError, ValueError):
            return float("nan")

    return {"wall": num("s"), "cpu": num("cpu_time"), "rss": num("max_rss")}


def default_logs(workdir: str) -> list[str]:
    """Logs of the newest run: the newest log, plus earlier ones whose finished jobs were not redone later
    (a resumed run is spread over several logs). Logs without a finished job (dry runs) are skipped."""
    logs = sorted(glob.glob(os.path.join(workdir, ".snakemake", "log", "*.snakemake.log")))
    return [p for p in logs if "Finished jobid" in open(p).read()]


def collect(workdir: str, logs: list[str]) -> tuple[list[dict], int | None]:
    by_output, cores = {}, None
    for path in logs:  # oldest first: a later log's job replaces an earlier one with the same outputs
        jobs, c = parse_log(path)
        cores = c or cores
        for job in jobs:
            if job["rule"] == "all":
                continue
            key = tuple(job["outputs"]) or (job["rule"], job.get("jobid"))
            by_output[key] = job
    jobs = list(by_output.values())
    for job in jobs:
        bench = read_bench(os.path.join(workdir, job["benchmark"])) if job.get("benchmark") else None
        logged = (job["end"] - job["start"]).total_seconds()
        job["wall"] = bench["wall"] if bench else logged
        exact = job_resources(os.path.join(workdir, job["joblog"])) if job.get("joblog") else None
        sampled = bench or {"cpu": float("nan"), "rss": float("nan")}
        job["cpu"] = exact["cpu_s"] if exact else sampled["cpu"]
        job["rss"] = max(exact["max_rss_mb"], bench["rss"] if bench else 0.0) if exact else sampled["rss"]
        job["has_bench"] = bench is not None
        job["exact_cpu"] = exact is not None
        job["measured"] = bench is not None or exact is not None
    return jobs, cores


def critical_path(jobs: list[dict]) -> tuple[float, list[dict]]:
    """Longest wall-time chain through the DAG (edges: an output of one job is an input of another)."""
    producer = {out: i for i, job in enumerate(jobs) for out in job["outputs"]}
    parents = [{producer[f] for f in job["inputs"] if f in producer and producer[f] != i} for i, job in enumerate(jobs)]
    best, back = {}, {}

    def longest(i, seen=()):
        if i in best:
            return best[i]
        if i in seen:  # not a DAG: should not happen
            raise ValueError(f"cycle through {jobs[i]['rule']}")
        prev = max(parents[i], key=lambda p: longest(p, seen + (i,)), default=None)
        best[i] = jobs[i]["wall"] + (longest(prev, seen + (i,)) if prev is not None else 0.0)
        back[i] = prev
        return best[i]

    last = max(range(len(jobs)), key=longest)
    chain, i = [], last
    while i is not None:
        chain.append(jobs[i])
        i = back[i]
    return best[last], chain[::-1]


def concurrency(jobs: list[dict], t0: datetime, t1: datetime, cores: int) -> dict:
    """Share of the makespan with k jobs running (second resolution, from the log's stamps)."""
    span = int((t1 - t0).total_seconds())
    if span <= 0:
        return {}
    running = [0] * span
    for job in jobs:
        a = int((job["start"] - t0).total_seconds())
        b = int((job["end"] - t0).total_seconds())
        for s in range(a, b):
            running[s] += 1
    shares = {}
    for k in range(0, max(running) + 1):
        shares[k] = sum(1 for r in running if r == k) / span
    shares["fewer_than_cores"] = sum(1 for r in running if r < cores) / span
    return shares


def label(job: dict) -> str:
    return job["rule"] + (f" [{job['wildcards']}]" if job.get("wildcards") else "")


def profile(workdir: str, logs: list[str] | None = None, cores: int | None = None) -> dict:
    logs = logs or default_logs(workdir)
    if not logs:
        sys.exit(f"no Snakemake log with a finished job under {os.path.join(workdir, '.snakemake', 'log')}")
    jobs, logged_cores = collect(workdir, logs)
    cores = cores or logged_cores or os.cpu_count()
    t0 = min(j["start"] for j in jobs)
    t1 = max(j["end"] for j in jobs)
    makespan = (t1 - t0).total_seconds()
    cp_len, chain = critical_path(jobs)
    cpu = sum(j["cpu"] for j in jobs if j["measured"])
    return {
        "workdir": os.path.abspath(workdir), "logs": logs, "cores": cores, "jobs": jobs, "makespan": makespan,
        "sum_wall": sum(j["wall"] for j in jobs), "sum_cpu": cpu,
        "jobs_with_bench": sum(j["has_bench"] for j in jobs), "jobs_with_exact_cpu": sum(j["exact_cpu"] for j in jobs),
        "critical_path": cp_len, "chain": chain,
        "idle_share": 1 - cpu / (cores * makespan) if makespan else float("nan"),
        "concurrency": concurrency(jobs, t0, t1, cores), "t0": t0,
        "peak_rss": max((j["rss"] for j in jobs if j["measured"]), default=float("nan")),
    }


def fmt_s(s: float) -> str:
    return "-" if s != s else (f"{s:.0f} s" if s < 120 else f"{int(s // 60)} min {s % 60:02.0f} s")


def report(p: dict, top: int) -> str:
    out = [f"# DAG profile of {p['workdir']}", "",
           f"{len(p['jobs'])} jobs ({p['jobs_with_bench']} with a benchmark file) on {p['cores']} cores; "
           f"log(s): {', '.join(os.path.basename(x) for x in p['logs'])}; exact CPU time (getrusage, from the job's "
           f"log) for {p['jobs_with_exact_cpu']} jobs, Snakemake's sampled lower bound for the others", "",
           "| job | wall | CPU | CPU/wall | peak RSS | threads | start |", "|---|---|---|---|---|---|---|"]
    for j in sorted(p["jobs"], key=lambda j: -j["wall"])[:top]:
        ratio = j["cpu"] / j["wall"] if j["measured"] and j["wall"] > 0 else float("nan")
        out.append(f"| {label(j)} | {j['wall']:.1f} s | {j['cpu']:.1f} s | {ratio:.2f} | {j['rss']:.0f} MB | "
                   f"{j['threads']} | +{(j['start'] - p['t0']).total_seconds():.0f} s |")
    if len(p["jobs"]) > top:
        rest = sorted(p["jobs"], key=lambda j: -j["wall"])[top:]
        out.append(f"| ({len(rest)} more) | {sum(j['wall'] for j in rest):.1f} s | "
                   f"{sum(j['cpu'] for j in rest if j['measured']):.1f} s | | | | |")
    conc = p["concurrency"]
    out += ["", f"- makespan: {fmt_s(p['makespan'])}; sum of job wall times {fmt_s(p['sum_wall'])}, "
                f"of CPU times {fmt_s(p['sum_cpu'])}",
            f"- critical path: {fmt_s(p['critical_path'])} "
            f"({p['critical_path'] / p['makespan']:.0%} of the makespan): "
            + " -> ".join(f"{label(j)} {j['wall']:.0f} s" for j in p["chain"]),
            f"- idle core share: {p['idle_share']:.0%} of {p['cores']} cores x makespan without CPU work; "
            f"fewer jobs than cores running {conc.get('fewer_than_cores', float('nan')):.0%} of the time ("
            + ", ".join(f"{k} running {v:.0%}" for k, v in conc.items() if isinstance(k, int)) + ")",
            f"- peak RSS of any job: {p['peak_rss']:.0f} MB"]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", nargs="?", default=".")
    ap.add_argument("--log", nargs="*", help="Snakemake log(s) of the run (default: every log with a finished job)")
    ap.add_argument("--cores", type=int, help="cores of the run (default: from the log)")
    ap.add_argument("--top", type=int, default=25, help="rows of the job table (longest first)")
    ap.add_argument("--json", help="also write the profile as JSON here")
    args = ap.parse_args(argv)
    p = profile(args.workdir, args.log, args.cores)
    print(report(p, args.top))
    if args.json:
        rows = [{"job": label(j), "rule": j["rule"], "wall_s": j["wall"], "cpu_s": j["cpu"], "max_rss_mb": j["rss"],
                 "exact_cpu": j["exact_cpu"], "threads": j["threads"], "start_s": (j["start"] - p["t0"]).total_seconds()} for j in p["jobs"]]
        with open(args.json, "w") as fh:
            json.dump({"makespan_s": p["makespan"], "cores": p["cores"], "sum_wall_s": p["sum_wall"],
                       "sum_cpu_s": p["sum_cpu"], "critical_path_s": p["critical_path"],
                       "critical_path": [label(j) for j in p["chain"]], "idle_share": p["idle_share"],
                       "peak_rss_mb": p["peak_rss"], "jobs": rows}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
