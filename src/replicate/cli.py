"""The command line: a few verbs that do not grow with the papers.

    python -m replicate list                                 papers, runs and targets of a configuration
    python -m replicate prepare agreement|task --out dir=PATH --params JSON
    python -m replicate train agreement_transformer|finetune --in data=PATH --out dir=PATH --params JSON
    python -m replicate run PAPER RUN [--config FILE]        one declared run (rules pass --spec JSON)
    python -m replicate target PAPER TARGET [--config FILE]  one table or figure, judged against its claim
    python -m replicate scorecard --in k=PATH ... --out md=PATH --params JSON
    python -m replicate report --out dir=PATH --params JSON  the report's first page (run times, versions)

By hand, ``run`` and ``target`` build the record from the registry (``--config``, default
config/config.yaml); the generated Snakemake rules pass the same record as ``--spec``.  Outputs are
removed again if a step fails, so nothing half-written is left looking complete.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _pairs(items):
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected key=path, got {item!r}")
        out[key] = value
    return out


def _prepare(kind, i, o, p):
    from .data import prepare

    fn = {"agreement": prepare.prepare_agreement, "task": prepare.prepare_sentences}[kind]
    print(json.dumps(fn(p, o["dir"]), indent=1))


def _train(kind, i, o, p):
    from .models import training

    if kind == "agreement_transformer":
        m = training.train_agreement_classifier(i["data"], p, o["dir"])
        print(f"test accuracy {m['test_accuracy']:.3f} (majority {m['majority_baseline']:.3f})")
    else:
        m = training.finetune_classifier(p["model"], i["data"], p, o["dir"])
        main = "corr" if p.get("regression") else "accuracy"
        print(f"test {main} {m[f'test_{main}_before']:.3f} -> {m[f'test_{main}']:.3f}")


def _record(args, kind):
    from . import execute

    if args.spec:
        call = json.loads(args.spec)
        named = (call.get("owner"), call.get("name")) if kind == "run" else (call.get("paper"), call.get("id"))
        if named != (args.paper, args.name):  # a rule that passes another record than it names
            raise SystemExit(f"{kind} {args.paper} {args.name}: the --spec record is {named[0]} {named[1]}")
        return call
    return execute.record(kind, args.paper, args.name, config_path=args.config)


def _list(args):
    from . import spec

    config = spec.load_config(args.config)
    spec.validate_config(config, spec.ROOT / "config" / "schema.yaml")
    papers, runs = spec.registry(config)
    for run in runs:
        print(f"run     {run.owner} {run.name}")
    for key, paper in papers.items():
        for t in paper.targets:
            print(f"target  {key} {t.id}" + (f"  (not run: {t.not_run})" if t.not_run else ""))


def _report_resources():
    """Last line of a job's log: its exact CPU time and peak memory (read by ``report.job_resources``)."""
    import resource

    from .report import RESOURCES

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    rss_mb = max(me.ru_maxrss, kids.ru_maxrss) / (2**20 if sys.platform == "darwin" else 2**10)  # bytes or kB
    print(f"{RESOURCES} cpu_s={cpu:.2f} max_rss_mb={rss_mb:.0f}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="replicate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=None)
    io = argparse.ArgumentParser(add_help=False)
    io.add_argument("--in", dest="inputs", nargs="*", metavar="KEY=PATH")
    io.add_argument("--out", dest="outputs", nargs="*", metavar="KEY=PATH")
    io.add_argument("--params", default="{}", help="JSON object")
    rec = argparse.ArgumentParser(add_help=False)
    rec.add_argument("paper")
    rec.add_argument("name")
    rec.add_argument("--spec", help="the record as JSON (from a rule)")
    rec.add_argument("--config", help="configuration file (by hand; default config/config.yaml)")
    sub.add_parser("list", parents=[common]).add_argument("--config")
    sub.add_parser("prepare", parents=[common, io]).add_argument("kind", choices=["agreement", "task"])
    sub.add_parser("train", parents=[common, io]).add_argument("kind", choices=["agreement_transformer", "finetune"])
    sub.add_parser("run", parents=[common, rec])
    sub.add_parser("target", parents=[common, rec])
    sub.add_parser("scorecard", parents=[common, io])
    sub.add_parser("report", parents=[common, io])
    args = parser.parse_args(argv)
    if args.verb != "list":
        import atexit

        atexit.register(_report_resources)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # jobs that share cores (snakemake --cores N with 1- and 2-thread jobs) must not spin-wait:
    # with OpenMP's default active waiting, two jobs on 2 cores ran tens of times slower
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.verb == "list":
        _list(args)
        return 0
    if args.verb in ("scorecard", "report"):
        from . import report

        i, o, p = _pairs(args.inputs), _pairs(args.outputs), json.loads(args.params)
        if args.verb == "scorecard":
            report.scorecard(sorted(i.values()), o["md"], {**p, "inputs": {k: v for k, v in i.items()
                                                                           if not v.endswith(".verdict.json")}})
        else:
            report.overview(i, o, p)
        return 0

    if args.threads:
        # before torch, numpy or scipy load: their OpenMP / MKL pools take these at start-up
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    from . import execute

    if args.verb == "target":
        # a target reads its runs' files and draws: no torch or transformers unless its module imports
        # them (a second or more of start-up saved on each of the ~100 target jobs)
        row = execute.target(args.paper, args.name, _record(args, "target"))
        print(f"{args.paper}/{args.name}: {row['verdict']} — ours: {row['ours']}")
        return 0
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.verb in ("prepare", "train"):
        i, o, p = _pairs(args.inputs), _pairs(args.outputs), json.loads(args.params)
        for key, path in o.items():
            from pathlib import Path

            (Path(path) if key == "dir" else Path(path).parent).mkdir(parents=True, exist_ok=True)
        try:
            (_prepare if args.verb == "prepare" else _train)(args.kind, i, o, p)
        except BaseException:
            execute.remove(o.values())
            raise
    else:
        execute.run(_record(args, "run"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
