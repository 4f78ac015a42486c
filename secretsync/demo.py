"""The newcomer's tour: the whole loop on a copy of examples/, against an embedded
Doppler-compatible server, so no Doppler account is needed.

    python -m secretsync.demo [EXAMPLES_DIR] [--keep DIR] [--verbose]

scan -> plan -> apply -> apply again (a no-op) -> accept the leftovers in a baseline -> verify
(fails: production has no Auth0 domain of its own) -> push --set -> verify (passes). Each step
prints a few lines of what happened; `--verbose` prints everything each command prints. A step
that ends unexpectedly prints its own output and stops the tour. Exit 0 when every step ended as
expected. The copy lives in a temporary directory that is removed on every exit path but
SIGKILL (or in DIR with --keep).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

PROJECT = "gaynance"
# The production tenant a human supplies for the env leak (seed 2.2): not a value from the tree.
PROD_AUTH0_DOMAIN = "gaynance.eu.auth0.com"


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    title: str
    argv: tuple[str, ...]
    expect: int
    summary: Callable[[str], list[str]]
    """Turns the step's captured output (and the files it wrote) into a few lines."""
    stdin: str | None = None


def _say(lines: list[str]) -> None:
    for line in lines:
        print(f"   {line}")


def _scan_summary(report: Path) -> Callable[[str], list[str]]:
    def summary(_: str) -> list[str]:
        doc = json.loads(report.read_text(encoding="utf-8"))
        files = {f["path"] for f in doc["findings"]}
        by_provider = Counter(s["detector"].split("-")[0] for s in doc["secrets"])
        leaks = sum(1 for f in doc["findings"] if f["detector"] == "env-leak")
        kinds = ", ".join(f"{n} {p}" for p, n in by_provider.most_common())
        return [f"{len(doc['findings'])} places in {len(files)} files hold "
                f"{len(doc['secrets'])} distinct values ({kinds})",
                f"{leaks} env leak(s): a dev value that production inherits",
                "no value is printed anywhere: previews show a first letter and a length"]
    return summary


def _plan_summary(plan_file: Path) -> Callable[[str], list[str]]:
    def summary(_: str) -> list[str]:
        doc = json.loads(plan_file.read_text(encoding="utf-8"))
        per_config = Counter(s["config"] for s in doc["secrets"])
        reasons = Counter(f["reason"].split(":")[0] for f in doc["followups"])
        lines = [f"Doppler project {doc['project']}: "
                 + ", ".join(f"{n} secrets in {c}" for c, n in sorted(per_config.items())),
                 f"{len(doc['edits'])} edits in {len({e['path'] for e in doc['edits']})} files, "
                 f"{len(doc['manifests'])} ExternalSecret manifests to add",
                 f"{len(doc['followups'])} places left for a human, most often:"]
        lines += [f"  {n:3} x {reason}" for reason, n in reasons.most_common(3)]
        return lines
    return summary


def _lines_with(*marks: str) -> Callable[[str], list[str]]:
    def summary(out: str) -> list[str]:
        return [ln.strip() for ln in out.splitlines() if ln.strip().startswith(marks)]
    return summary


def _verify_summary(report: Path) -> Callable[[str], list[str]]:
    def summary(_: str) -> list[str]:
        doc = json.loads(report.read_text(encoding="utf-8"))
        lines: list[str] = []
        for c in doc["checks"]:
            lines.append(f"{c['status']:5} {c['id']:15} {c['summary']}")
            if c["status"].lower() == "fail":
                lines += [f"      {p['path']}:{p['line']}  {p['message']}"
                          for p in c["problems"][:2]]
        return lines
    return summary


def _steps(tree: Path, work: Path) -> list[Step]:
    baseline, scan_json, plan_json = work / "baseline.json", work / "scan.json", work / "plan.json"
    verify_json = work / "verify.json"
    verify = ("verify", str(tree), "--baseline", str(baseline))
    return [
        Step("scan", "1. secretsync scan: what is in git", (
            "scan", "--no-progress", str(tree), "--format", "json", "-o", str(scan_json)),
            1, _scan_summary(scan_json)),
        Step("plan", "2. secretsync plan: what apply will do (names and places, no values)",
             ("plan", str(tree), "-o", str(plan_json)), 0, _plan_summary(plan_json)),
        Step("apply", "3. secretsync apply: push to Doppler, read back, rewrite the tree",
             ("apply", str(tree)), 0, _lines_with("applied", "needs a value", "nothing to do")),
        Step("apply again", "4. secretsync apply again: nothing left to do",
             ("apply", str(tree)), 0, _lines_with("nothing to do", "applied")),
        Step("baseline", "5. secretsync scan --update-baseline: accept what apply left for a "
             "human", ("scan", "--no-progress", str(tree), "--baseline", str(baseline),
                       "--update-baseline"), 0, _lines_with("baseline")),
        Step("verify", "6. secretsync verify: fails, production has no Auth0 domain of its own",
             (*verify, "--format", "json", "--output", str(verify_json)), 1,
             _verify_summary(verify_json)),
        Step("push --set", "7. secretsync push --set AUTH0_DOMAIN --config prd (value on stdin)",
             ("push", "--set", "AUTH0_DOMAIN", "--config", "prd"), 0,
             lambda out: [ln.strip() for ln in out.splitlines() if ln.strip()][-1:],
             stdin=PROD_AUTH0_DOMAIN + "\n"),
        Step("verify again", "8. secretsync verify: the release gate",
             (*verify, "--format", "json", "--output", str(verify_json)), 0,
             _verify_summary(verify_json)),
    ]


def _run(argv: tuple[str, ...], stdin: str | None, verbose: bool) -> tuple[int, str]:
    """Run one CLI command, capturing what it prints (unless verbose)."""
    from secretsync.cli import run_cli

    buf = io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        if verbose:
            return run_cli(list(argv)), ""
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code = run_cli(list(argv))
        return code, buf.getvalue()
    finally:
        sys.stdin = saved


def _tour(src: Path, work: Path, verbose: bool) -> int:
    from secretsync.testing import DopplerTestServer

    tree = work / "examples"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(src, tree, ignore=shutil.ignore_patterns("expected", "ci", "*.md"))
    with DopplerTestServer() as srv, _environ(DOPPLER_API_HOST=srv.url, DOPPLER_PROJECT=PROJECT,
                                              DOPPLER_TOKEN=srv.issue_token("personal")):
        srv.add_project(PROJECT)
        print(f"secretsync demo: the whole loop on a copy of examples/ ({tree}),\n"
              f"against an embedded Doppler-compatible server at {srv.url} (project {PROJECT}).")
        if not _seed_existing(srv, tree, work, verbose):
            return 1
        for step in _steps(tree, work):
            _stop_requested()
            print(f"\n{step.title}")
            code, out = _run(step.argv, step.stdin, verbose)
            if code != step.expect:
                print(f"   exit {code}, expected {step.expect}: the tour stops here. "
                      "What the command printed:")
                print(out.rstrip() or "   (nothing)")
                return 1
            if not verbose:
                _say(step.summary(out))
            print(f"   exit {code}, as expected")
    print("\nEvery step ended as expected. With a real DOPPLER_TOKEN the same commands work "
          "against Doppler itself;\n`python -m secretsync.demo --verbose` shows everything "
          "each command prints.")
    return 0


def _seed_existing(srv: Any, tree: Path, work: Path, verbose: bool) -> bool:
    """The tree's own hand-written ExternalSecrets read keys that, in real life, Doppler
    already holds: give the embedded server placeholders for those apply will not push."""
    plan_file = work / "plan-offline.json"
    code, out = _run(("plan", str(tree), "--offline", "-o", str(plan_file)), None, False)
    if code != 0:
        print(f"plan --offline (to seed the embedded server) ended with exit {code}:")
        print(out.rstrip() or "(nothing printed)")
        return False
    planned = {(s["config"], s["name"]) for s in json.loads(plan_file.read_text())["secrets"]}
    for config in ("dev", "prd"):
        for name in _remote_keys(tree):
            if (config, name) not in planned:
                srv.set_secret(PROJECT, config, name, f"existing-{name.lower()}")
    return True


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Point the CLI at the embedded server for the tour only: a caller's own Doppler settings
    (and the process that runs the demo in-process, such as a test) get theirs back after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_STOPPED: list[int] = []
"""The stop signal received, if any. The handler's SystemExit can be lost (raised while Python
runs a finaliser, it is only printed as ignored), so the tour also looks here between steps."""


def _stop_requested() -> None:
    if _STOPPED:
        raise SystemExit(128 + _STOPPED[0])


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    """A directory for the copy, removed on every exit path (SIGTERM and SIGHUP included)."""
    def stop(signum: int, _frame: FrameType | None) -> None:
        _STOPPED.append(signum)
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    work = keep or Path(tempfile.mkdtemp(prefix="secretsync-demo-"))
    try:
        yield work
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
        for s, handler in previous.items():
            signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m secretsync.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("examples", nargs="?", default="examples", type=Path)
    ap.add_argument("--keep", type=Path, help="copy the tree here and keep it afterwards")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="print everything each command prints")
    args = ap.parse_args(argv)
    src: Path = args.examples
    if not (src / "gitops-platform").is_dir():
        print(f"error: {src} is not the examples/ tree (run from the repository root)",
              file=sys.stderr)
        return 2
    _STOPPED.clear()
    try:
        with _workdir(args.keep) as work:
            code = _tour(src, work, args.verbose)
            _stop_requested()
            return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


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
