"""The README's main-job command (`./dev demo` runs `python -m secretsync.demo`) works: the
whole loop on a copy of examples/, every step ending as expected, and no value printed."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO


def test_demo_runs_the_whole_loop() -> None:
    proc = subprocess.run([sys.executable, "-m", "secretsync.demo"], cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for step in ("scan          exit 1", "apply again   exit 0", "verify        exit 1",
                 "verify again  exit 0"):
        assert step in out
    assert "nothing to do" in out
    for value in ("tail876052", "k3r7wuCSzd11CNTRL", "tgrsoxiakeqdr1gg",
                  "wsZ3vIm5FlxztPisdo3Jq5BaeJvASZrz", "f6746974-5104-49ef-beed-c66a048f5062",
                  "1003078665133", "4aa95df965d3bc2bfaabe9012a35857c",
                  "gaynance.eu.auth0.com"):
        assert value not in out, value
    assert not (REPO / "examples" / "gitops-platform" / "apps" / "prd"
                / "secretsync-example-api-doppler.yaml").exists(), "the demo touched examples/"
