"""Issue 12 §2.14: a parallel scan's workers hold found values; they must not outlive a parent
killed with SIGKILL (which runs no cleanup)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import Planted


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out |= {int(c) for c in fh.read().split()}
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("command", ["scan", "exposure"])
def test_workers_exit_when_the_scan_is_killed(tmp_path: Path, command: str) -> None:
    root = Planted().tree(tmp_path / "tree", charts=200)
    argv = ["scan", "--no-progress", "-j", "2", "-f", "json", str(root)]
    if command == "exposure":  # the history scan has its own pool of workers
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
               "HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for git in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "tree"]):
            subprocess.run(["git", "-C", str(root), *git], check=True, capture_output=True,
                           env=env)
        argv = ["exposure", "--offline", "-j", "2", "-f", "json", str(root)]
    proc = subprocess.Popen([sys.executable, "-m", "secretsync", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.02)
    assert len(workers) >= 2, "the scan never started its workers"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    left = [w for w in workers if _alive(w)]
    for w in left:  # do not leave them behind for the rest of the suite
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers still running after their parent was killed: {left}"
