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
OPS = os.environ.get("KILL_OPS", "send,fsync,replace").split(",")
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
if "send" in OPS:
    httpx.Client.send = send
for name in set(OPS) & {"fsync", "replace"}:
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


def _apply(root: Path, env: dict[str, str], kill_at: int,
           ops: str = "send,fsync,replace") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLER, "apply", str(root), "--project", PROJECT],
        env={**env, "KILL_AT": str(kill_at), "KILL_OPS": ops}, capture_output=True, text=True,
        timeout=120, check=False,
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


def _overlay_tree(root: Path, planted: Planted) -> Path:
    """A base two overlays deploy: apply writes one ExternalSecret per overlay, lists each in
    its overlay's resources, and rewrites the base (alphabetically first) to reference them."""
    from tests.conftest import build_tree

    from .helpers import _store

    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: web\n          image: nginx\n"
        "          env:\n            - name: TELEGRAM_BOT_TOKEN\n"
        f'              value: "{planted.bot_token}"\n'
    )
    files: dict[str, str | bytes] = {
        "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
        "base/deployment.yaml": deploy,
        "overlays/dev/kustomization.yaml": "resources:\n  - ../../base\n",
        "overlays/prd/kustomization.yaml": "resources:\n  - ../../base\n",
        "stores/dev.yaml": _store("dev"),
        "stores/prd.yaml": _store("prd"),
    }
    return build_tree(root, files)


def test_sigkill_at_each_rename_of_an_overlay_tree_then_rerun(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """Issue 12 §2.6: killed after the base is rewritten but before an overlay lists its new
    ExternalSecret, a re-run used to find no value and say "nothing to do", leaving manifests
    nothing deploys. Every kill point, then a re-run, must end in the tree of a clean run."""
    planted = Planted()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOPPLER_")}
    with DopplerTestServer() as ref_srv:
        ref_srv.add_project(PROJECT)
        ref_env = {**env, "DOPPLER_API_HOST": ref_srv.url, "DOPPLER_TOKEN": ref_srv.issue_token()}
        ref = _overlay_tree(tmp_path / "ref", planted)
        before = tree_bytes(ref)
        clean = _apply(ref, ref_env, 0, "replace")
        assert clean.returncode == 0, clean.stderr
        steps = int(clean.stderr.rsplit("STEPS=", 1)[1])
        after = tree_bytes(ref)
    assert steps == 2 * 5  # before and after each of the five renames
    assert {k for k in after if before.get(k) != after[k]} == {
        "base/deployment.yaml", "overlays/dev/kustomization.yaml",
        "overlays/prd/kustomization.yaml", "overlays/dev/secretsync-web-doppler.yaml",
        "overlays/prd/secretsync-web-doppler.yaml"}
    unfinished = []
    for k in range(1, steps + 1):
        with DopplerTestServer() as srv:
            srv.add_project(PROJECT)
            token = srv.issue_token()
            root = _overlay_tree(tmp_path / f"k{k}", planted)
            proc = _apply(root, {**env, "DOPPLER_API_HOST": srv.url, "DOPPLER_TOKEN": token}, k,
                          "replace")
            assert proc.returncode == -9, (k, proc.returncode, proc.stderr[-400:])
            monkeypatch.setenv("DOPPLER_API_HOST", srv.url)
            monkeypatch.setenv("DOPPLER_TOKEN", token)
            rerun = cli(["apply", str(root), "--project", PROJECT])
            assert rerun.code == 0, (k, rerun.err)
            final = {p: d for p, d in tree_bytes(root).items() if not p.endswith(".secretsync")}
            if final != after:
                unfinished.append((k, sorted(p for p in after if final.get(p) != after[p])))
    assert unfinished == []
