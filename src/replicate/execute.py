"""Run one declared run or target: the CLI's ``run`` and ``target`` verbs, from a rule's JSON record
(``Run.call()`` / ``Target.call()``) or from the registry built from a configuration file."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path


def resolve(func: str):
    """``"package.module:function"`` -> the function."""
    module, _, name = func.partition(":")
    return getattr(importlib.import_module(module), name)


def _prepare(outputs: dict) -> None:
    for path in outputs.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def remove(paths) -> None:
    """Nothing half-written is left looking complete."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


def record(kind: str, paper: str, name: str, config_path: str | None = None, config: dict | None = None) -> dict:
    """The JSON record of run/target ``name`` of ``paper`` from a configuration (by hand, not from a rule)."""
    from . import spec

    if config is None:
        config = spec.load_config(config_path)
    spec.validate_config(config, spec.ROOT / "config" / "schema.yaml")
    papers, runs = spec.registry(config)
    paths = config["paths"]
    if kind == "run":
        for run in runs:
            if run.owner == paper and run.name == name:
                return run.call()
        known = sorted(f"{r.owner} {r.name}" for r in runs)
        raise SystemExit(f"no run {paper} {name} in this configuration (known: {', '.join(known)})")
    if paper not in papers:
        raise SystemExit(f"{paper!r} is not a configured paper (papers: {', '.join(papers)})")
    try:
        return papers[paper].target(name).call(paths["figures"], paths["results"])
    except KeyError as err:
        raise SystemExit(err.args[0]) from None


def run(call: dict) -> None:
    _prepare(call["outputs"])
    try:
        resolve(call["func"])(call["args"], call["outputs"], call["params"])
    except BaseException:
        remove(call["outputs"].values())
        raise
    missing = [p for p in call["outputs"].values() if not os.path.exists(p)]
    if missing:
        remove(call["outputs"].values())
        raise RuntimeError(f"{call['func']} did not write {missing}")


def target(paper: str, tid: str, call: dict) -> dict:
    """Draw the target, judge it against its claim and write the verdict file; returns the row."""
    from .data.io import write_json
    from .spec import printed
    from .verdicts import judge

    entry = printed(paper)[tid]
    out = call["outputs"]
    _prepare(out)
    try:
        if call.get("not_run") is not None:
            row = judge(entry, not_run=call["not_run"])
        else:
            result = resolve(call["func"])(call["args"], call["params"], out, entry)
            row = judge(entry, result)
        write_json(out["verdict"], {"paper_key": paper, "target": tid, "model": call.get("model", ""),
                                    "data": call.get("data", ""), **row})
        if "caption" in out:
            from .report import write_caption

            write_caption(out["caption"], paper, tid, row, call)
    except BaseException:
        remove(out.values())
        raise
    return row
