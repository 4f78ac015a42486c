"""The newcomer's tour: the whole loop on a copy of examples/, against an embedded
Doppler-compatible server, so no Doppler account is needed.

    python -m secretsync.demo [EXAMPLES_DIR] [--keep DIR]

scan -> plan -> apply -> apply again (a no-op) -> verify (when installed), printing what each
step prints. The copy is left in DIR (or a temporary directory that is removed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT = "gaynance"


def _step(title: str) -> None:
    bar = "=" * 78
    print(f"\n{bar}\n{title}\n{bar}", flush=True)


def main(argv: list[str] | None = None) -> int:
    from secretsync.cli import run_cli
    from secretsync.testing import DopplerTestServer

    ap = argparse.ArgumentParser(prog="python -m secretsync.demo", description=__doc__)
    ap.add_argument("examples", nargs="?", default="examples", type=Path)
    ap.add_argument("--keep", type=Path, help="copy the tree here and keep it afterwards")
    args = ap.parse_args(argv)
    src: Path = args.examples
    if not (src / "gitops-platform").is_dir():
        print(f"error: {src} is not the examples/ tree (run from the repository root)",
              file=sys.stderr)
        return 2

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="secretsync-demo-"))
    tree = workdir / "examples"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(src, tree, ignore=shutil.ignore_patterns("expected", "ci", "*.md"))

    with DopplerTestServer() as srv:
        srv.add_project(PROJECT)
        os.environ["DOPPLER_API_HOST"] = srv.url
        os.environ["DOPPLER_TOKEN"] = srv.issue_token("personal")
        os.environ["DOPPLER_PROJECT"] = PROJECT
        print(f"Embedded Doppler-compatible server at {srv.url}, project {PROJECT!r}, "
              f"configs dev/stg/prd.\nWorking on a copy: {tree}")
        codes = {}
        _step("1. secretsync scan  (exit 1: something was found)")
        codes["scan"] = run_cli(["scan", "--no-progress", str(tree)])
        _step("2. secretsync plan  (what apply will do; no values, names and places only)")
        codes["plan"] = run_cli(["plan", str(tree)])
        _step("3. secretsync apply  (push to Doppler, read back, rewrite the tree)")
        codes["apply"] = run_cli(["apply", str(tree)])
        _step("4. secretsync apply again  (nothing left to do)")
        codes["apply again"] = run_cli(["apply", str(tree)])
        try:
            import secretsync.commands.verify  # noqa: F401
        except ModuleNotFoundError:
            pass
        else:
            _step("5. secretsync verify  (fails: production still inherits the dev Auth0 tenant)")
            codes["verify"] = run_cli(["verify", str(tree)])
        _step("Summary")
        for name, code in codes.items():
            print(f"  {name:12} exit {code}")
        print(f"\nThe rewritten tree is in {tree}" + ("" if args.keep else " (removed now)")
              + ".\nWith a real DOPPLER_TOKEN, the same commands work against Doppler itself.")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    ok = codes["apply"] == 0 and codes["apply again"] == 0 and codes["scan"] in (0, 1)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
