#!/usr/bin/env python3
"""Regenerate tests/golden/ on purpose: `python scripts/regen_golden.py`.

Copies examples/ to a temporary directory, runs `secretsync apply --project gaynance` against the
embedded Doppler-compatible server, and stores every file apply changed or added under
tests/golden/examples-after/ (the "before" is examples/ itself; every other file must stay
byte-identical, which the test checks), plus the plan as a reviewer sees it. Review the git diff
of tests/golden/ before committing it.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
GOLDEN = REPO / "tests" / "golden"
AFTER = GOLDEN / "examples-after"
PLAN_TXT = GOLDEN / "examples-plan.txt"
PROJECT = "gaynance"
# The Flux platform fixture (tests/fixtures/flux-platform): two clusters, every kind of place.
FLUX = REPO / "tests" / "fixtures" / "flux-platform"
FLUX_AFTER = GOLDEN / "flux-platform-after"
FLUX_PLAN_TXT = GOLDEN / "flux-platform-plan.txt"
FLUX_PROJECT = "homelab"
# Files of examples/ that are documentation, not part of the GitOps tree.
SKIP = ("README.md", "VALUES.md")


def tree_files(root: Path) -> dict[str, bytes]:
    """Every file below `root`, by `/`-separated relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def copy_examples(dest: Path) -> Path:
    shutil.copytree(EXAMPLES, dest, ignore=shutil.ignore_patterns(*SKIP, "expected"))
    return dest


def copy_flux(dest: Path) -> Path:
    shutil.copytree(FLUX, dest)
    return dest


@contextlib.contextmanager
def doppler_env() -> Iterator[object]:
    """An embedded Doppler with the projects, and the variables pointing every client at it."""
    from secretsync.testing import DopplerTestServer

    srv = DopplerTestServer().start()
    srv.add_project(PROJECT)
    srv.add_project(FLUX_PROJECT)
    token = srv.issue_token("personal")
    old = {k: os.environ.get(k) for k in ("DOPPLER_API_HOST", "DOPPLER_TOKEN", "DOPPLER_PROJECT")}
    os.environ["DOPPLER_API_HOST"] = srv.url
    os.environ["DOPPLER_TOKEN"] = token
    os.environ.pop("DOPPLER_PROJECT", None)
    try:
        yield srv
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        srv.stop()


def run(argv: list[str]) -> tuple[int, str]:
    """Run the CLI in-process; (exit code, stdout)."""
    from secretsync.cli import run_cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run_cli(argv)
    return code, out.getvalue()


def remediate(tree: Path, project: str = PROJECT) -> tuple[str, dict[str, bytes]]:
    """Plan (offline, for the golden text) and apply `tree`; (plan text, changed files)."""
    before = tree_files(tree)
    code, plan_text = run(["plan", str(tree), "--project", project, "--offline"])
    if code != 0:
        raise SystemExit(f"plan failed with exit {code}")
    code, _ = run(["apply", str(tree), "--project", project])
    if code != 0:
        raise SystemExit(f"apply failed with exit {code}")
    after = tree_files(tree)
    changed = {p: d for p, d in after.items() if before.get(p) != d}
    return plan_text, changed


def _store(after: Path, plan_txt: Path, plan_text: str, changed: dict[str, bytes]) -> None:
    if after.exists():
        shutil.rmtree(after)
    for rel, data in changed.items():
        target = after / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    plan_txt.write_text(plan_text, encoding="utf-8")
    print(f"wrote {len(changed)} files to {after.relative_to(REPO)} and {plan_txt.name}",
          file=sys.stderr)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, doppler_env():
        tree = copy_examples(Path(tmp) / "examples")
        plan_text, changed = remediate(tree)
        _store(AFTER, PLAN_TXT, plan_text, changed)
        flux = copy_flux(Path(tmp) / "flux-platform")
        plan_text, changed = remediate(flux, FLUX_PROJECT)
        _store(FLUX_AFTER, FLUX_PLAN_TXT, plan_text, changed)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
