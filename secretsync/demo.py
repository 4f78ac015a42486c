"""The newcomer's tour: the whole loop on a copy of examples/, against an embedded
Doppler-compatible server, so no Doppler account is needed.

    python -m secretsync.demo [EXAMPLES_DIR] [--keep DIR]

scan -> plan -> apply -> apply again (a no-op) -> accept the leftovers in a baseline -> verify
(fails: production has no Auth0 domain of its own) -> push --set -> verify (passes), printing
what each step prints. Exit 0 when every step ended as expected. The copy is left in DIR
(or in a temporary directory that is removed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT = "gaynance"
# The production tenant a human supplies for the env leak (seed 2.2): not a value from the tree.
PROD_AUTH0_DOMAIN = "gaynance.eu.auth0.com"


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
        # The tree's own hand-written ExternalSecrets read keys that, in real life, Doppler
        # already holds; give the embedded server placeholders for those apply will not push.
        plan_file = workdir / "plan.json"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            run_cli(["plan", str(tree), "--offline", "-o", str(plan_file)])
        planned = {(s["config"], s["name"]) for s in json.loads(plan_file.read_text())["secrets"]}
        for config in ("dev", "prd"):
            for name in _remote_keys(tree):
                if (config, name) not in planned:
                    srv.set_secret(PROJECT, config, name, f"existing-{name.lower()}")
        codes: dict[str, int] = {}
        baseline = workdir / "baseline.json"
        steps: list[tuple[str, str, list[str], str | None]] = [
            ("scan", "1. secretsync scan  (exit 1: something was found)",
             ["scan", "--no-progress", str(tree)], None),
            ("plan", "2. secretsync plan  (what apply will do; names and places, no values)",
             ["plan", str(tree)], None),
            ("apply", "3. secretsync apply  (push to Doppler, read back, rewrite the tree)",
             ["apply", str(tree)], None),
            ("apply again", "4. secretsync apply again  (nothing left to do)",
             ["apply", str(tree)], None),
            ("baseline", "5. secretsync scan --update-baseline  (accept what apply left for a "
             "human: block scalars, partial values; verify's follow-up keeps listing them)",
             ["scan", "--no-progress", str(tree), "--baseline", str(baseline),
              "--update-baseline"], None),
            ("verify", "6. secretsync verify  (fails: production has no Auth0 domain of its own)",
             ["verify", str(tree), "--baseline", str(baseline)], None),
            ("push --set", "7. secretsync push --set AUTH0_DOMAIN --config prd  (value on stdin)",
             ["push", "--set", "AUTH0_DOMAIN", "--config", "prd"], PROD_AUTH0_DOMAIN),
            ("verify again", "8. secretsync verify  (passes: the tree is safe to ship)",
             ["verify", str(tree), "--baseline", str(baseline)], None),
        ]
        for name, title, argv_, stdin in steps:
            _step(title)
            saved = sys.stdin
            if stdin is not None:
                sys.stdin = io.StringIO(stdin + "\n")
            try:
                codes[name] = run_cli(argv_)
            finally:
                sys.stdin = saved
        _step("Summary")
        for name, code in codes.items():
            print(f"  {name:13} exit {code}")
        print(f"\nThe rewritten tree is in {tree}" + ("" if args.keep else " (removed now)")
              + ".\nWith a real DOPPLER_TOKEN, the same commands work against Doppler itself.")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    expected = {"scan": 1, "plan": 0, "apply": 0, "apply again": 0, "baseline": 0,
                "verify": 1, "push --set": 0, "verify again": 0}
    return 0 if codes == expected else 1


def _remote_keys(tree: Path) -> list[str]:
    """Every `remoteRef.key` of the ExternalSecrets already in the tree."""
    from secretsync.documents import parse

    keys: set[str] = set()
    for path in sorted(tree.rglob("*.yaml")):
        data = path.read_bytes()
        if b"ExternalSecret" not in data or "templates" in path.parts:
            continue
        pf, _ = parse(path.name, data)
        kinds = {d.index: d.kind for d in pf.documents}
        for s in pf.scalars:
            kp = s.ctx.key_path
            if (kinds.get(s.doc) in ("ExternalSecret", "ClusterExternalSecret")
                    and len(kp) >= 2 and kp[-2:] == ("remoteRef", "key")):
                keys.add(s.value)
    return sorted(keys)


if __name__ == "__main__":
    raise SystemExit(main())
