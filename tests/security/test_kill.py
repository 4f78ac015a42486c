"""SIGKILL during `secretsync apply`, at every step it takes: before and after each request to
Doppler, and before and after each fsync and rename of each file. After each kill every file is
either its original bytes or its fully rewritten bytes (never a mix, never truncated), and a
re-run finishes the job: the tree and Doppler end exactly as after a run that was never killed.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from secretsync.testing import DopplerTestServer

from .helpers import PROJECT, Planted, cli, find_canaries, tree_bytes

CHARTS = 3
MAX_POINTS = 30

# Runs the CLI, SIGKILLing itself at the KILL_AT-th step (0: never; print the step count).
KILLER = r"""
import os, signal, sys
import httpx
K = int(os.environ["KILL_AT"])
n = [0]
def tick():
    n[0] += 1
    if n[0] == K:
        os.kill(os.getpid(), signal.SIGKILL)
real_send = httpx.Client.send
def send(self, *a, **k):
    tick()
    r = real_send(self, *a, **k)
    tick()  # Doppler has answered (a write is applied) but the client never goes on
    return r
httpx.Client.send = send
for name in ("fsync", "replace"):
    def wrap(*a, _real=getattr(os, name), **k):
        tick()
        r = _real(*a, **k)
        tick()
        return r
    setattr(os, name, wrap)
from secretsync.cli import run_cli
code = run_cli(sys.argv[1:])
print(f"STEPS={n[0]}", file=sys.stderr)
sys.exit(code)
"""


def _apply(root: Path, env: dict[str, str], kill_at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLER, "apply", str(root), "--project", PROJECT],
        env={**env, "KILL_AT": str(kill_at)}, capture_output=True, text=True, timeout=120,
        check=False,
    )


def test_sigkill_at_every_step_then_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = Planted()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOPPLER_")}
    with DopplerTestServer() as ref_srv:
        ref_srv.add_project(PROJECT)
        ref_env = {**env, "DOPPLER_API_HOST": ref_srv.url, "DOPPLER_TOKEN": ref_srv.issue_token()}
        ref = planted.tree(tmp_path / "ref", charts=CHARTS)
        before = tree_bytes(ref)
        clean = _apply(ref, ref_env, 0)
        assert clean.returncode == 0, clean.stderr
        steps = int(clean.stderr.rsplit("STEPS=", 1)[1])
        after = tree_bytes(ref)
        want = {c: ref_srv.secrets(PROJECT, c) for c in ("dev", "prd", "stg")}
    changed = {k for k in after if before.get(k) != after[k]}
    assert len(changed) >= 2 * CHARTS and steps > 20
    points = list(range(1, steps + 1))
    if len(points) > MAX_POINTS:
        points = sorted(random.Random(steps).sample(points, MAX_POINTS))
    killed = partial = leftovers = 0
    for k in points:
        with DopplerTestServer() as srv:
            srv.add_project(PROJECT)
            token = srv.issue_token()
            root = planted.tree(tmp_path / f"k{k}", charts=CHARTS)
            proc = _apply(root, {**env, "DOPPLER_API_HOST": srv.url, "DOPPLER_TOKEN": token}, k)
            assert proc.returncode == -9, (k, proc.returncode, proc.stderr[-400:])
            killed += 1
            state = tree_bytes(root)
            temps = {p for p in state if p.rsplit("/", 1)[-1].startswith(".")
                     and p.endswith(".secretsync")}
            leftovers += len(temps)
            # A leftover temp file holds (part of) new content: never a value.
            assert find_canaries({p: state[p] for p in temps}, planted.values.values()) == []
            for rel in set(state) - temps:
                assert state[rel] in (before.get(rel), after.get(rel)), (k, rel)
            assert set(state) - temps <= set(after) and set(before) <= set(state)
            mixed = {state[r] == after[r] for r in changed if r in state}
            partial += len(mixed) > 1
            monkeypatch.setenv("DOPPLER_API_HOST", srv.url)
            monkeypatch.setenv("DOPPLER_TOKEN", token)
            rerun = cli(["apply", str(root), "--project", PROJECT])
            assert rerun.code == 0, (k, rerun.err)
            final = {p: d for p, d in tree_bytes(root).items() if p not in temps}
            assert final == after, (k, sorted(p for p in after if final.get(p) != after[p]))
            for config, held in want.items():
                assert srv.secrets(PROJECT, config) == held, (k, config)
    assert killed == len(points) >= min(steps, MAX_POINTS)
    # The points reached the rewrite: some kills left a tree half old, half new, file by file.
    assert partial >= 1
    print(f"kill points: {killed} of {steps} steps; trees with some files rewritten: {partial}; "
          f"temp files left by a kill: {leftovers}")
