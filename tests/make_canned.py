"""Rebuild tests/data/canned/ from a finished run of the tiny workflow:

    python tests/make_canned.py /path/to/finished/tiny/workflow

Copies exactly what the registered targets of tests/data/config_tiny.yaml read (their inputs and the
paths handed to their functions), so that tests/test_targets_canned.py can run every target function
without the DAG."""

import shutil
import sys
from pathlib import Path

from replicate import spec

ROOT = Path(__file__).resolve().parents[1]
CANNED = ROOT / "tests" / "data" / "canned"


def target_paths(config) -> set[str]:
    papers, _ = spec.registry(config)
    out = set()
    for paper in papers.values():
        for t in paper.targets:
            for group in (t.inputs, t.args or {}):
                for value in group.values():
                    out.update([value] if isinstance(value, str) else value)
    return out


def main(run_dir: str) -> None:
    run_dir = Path(run_dir)
    config = spec.load_config(ROOT / "tests" / "data" / "config_tiny.yaml")
    shutil.rmtree(CANNED, ignore_errors=True)
    for rel in sorted(target_paths(config)):
        src, dst = run_dir / rel, CANNED / rel
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    size = sum(f.stat().st_size for f in CANNED.rglob("*") if f.is_file())
    print(f"{CANNED}: {sum(1 for f in CANNED.rglob('*') if f.is_file())} files, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main(sys.argv[1])
