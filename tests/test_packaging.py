"""The installed wheel, used from another directory, finds its detectors."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import REPO


def test_wheel_ships_detectors_and_works_elsewhere(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("secretsync-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for provider in ("tailscale", "auth0", "cloudflare", "telegram", "generic"):
        assert f"secretsync/detectors/{provider}.py" in names
    assert not any(n.startswith(("tests/", "examples/", "detectors/")) for n in names)
    code = ("import secretsync.detectors as d, sys; "
            "assert 'site-packages' not in d.__file__ and d.__file__.startswith(sys.argv[1]); "
            "print(len(d.load_detectors()))")
    out = subprocess.run(
        [sys.executable, "-P", "-c", code, str(wheel)], cwd=tmp_path, check=True,
        capture_output=True, text=True, env={"PYTHONPATH": str(wheel)},
    )
    assert int(out.stdout) >= 20
