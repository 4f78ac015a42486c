"""The README's main-job command (`./dev demo` runs `python -m secretsync.demo`) works: the
whole loop on a copy of examples/, every step ending as expected, a short story, no value
printed, and no copy of the examples left behind on any exit path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from secretsync import demo

from .conftest import REPO

VALUES = ("tail876052", "k3r7wuCSzd11CNTRL", "tgrsoxiakeqdr1gg",
          "wsZ3vIm5FlxztPisdo3Jq5BaeJvASZrz", "f6746974-5104-49ef-beed-c66a048f5062",
          "1003078665133", "4aa95df965d3bc2bfaabe9012a35857c", "gaynance.eu.auth0.com")


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp)}


def test_demo_runs_the_whole_loop_as_a_short_story(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "secretsync.demo"], cwd=REPO, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert out.count("exit ") == 8 and "Every step ended as expected" in out
    assert "nothing to do" in out
    assert "fail  missing-remote" in out and "AUTH0_DOMAIN is not in Doppler" in out
    assert len(out.splitlines()) <= 70, "the tour is a short story; --verbose has the detail"
    for value in VALUES:
        assert value not in out, value
    assert not (REPO / "examples" / "gitops-platform" / "apps" / "prd"
                / "secretsync-example-api-doppler.yaml").exists(), "the demo touched examples/"
    assert list(tmp_path.iterdir()) == [], "the demo left its copy of the examples behind"


def test_a_failing_step_prints_its_error_and_cleans_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    real_steps = demo._steps

    def broken(tree: Path, work: Path) -> list[demo.Step]:
        steps = real_steps(tree, work)
        return [steps[0], demo.Step("plan", "2. plan", ("plan", str(tree / "no-such-dir")), 0,
                                    lambda out: [])]

    monkeypatch.setattr(demo, "_steps", broken)
    before = os.environ.get("DOPPLER_API_HOST")
    assert demo.main([str(REPO / "examples")]) == 1
    out = capsys.readouterr().out
    assert "exit 2, expected 0: the tour stops here" in out
    assert "error:" in out and "no-such-dir" in out
    assert list(tmp_path.iterdir()) == []
    assert os.environ.get("DOPPLER_API_HOST") == before, "the tour leaked its server's address"


def test_sigterm_removes_the_copy(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "secretsync.demo"], cwd=REPO,
                            env=_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob("secretsync-demo-*/examples")):
        time.sleep(0.05)
    assert list(tmp_path.glob("secretsync-demo-*")), "the demo never made its copy"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
