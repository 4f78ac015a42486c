"""Supply chain of the tool itself: detectors come only from the package; every dependency is
pinned in constraints.txt (what ./dev and CI install with)."""

from __future__ import annotations

import importlib.metadata as md
import re
import secrets
import sys
from pathlib import Path

from packaging.requirements import Requirement

import secretsync
from secretsync.detectors import PROVIDERS, load_detectors

from .helpers import cli

REPO = Path(__file__).resolve().parents[2]


def test_detectors_load_only_from_the_package(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    evil = f"open({str(marker)!r}, 'w').write('ran')\n"
    root = tmp_path / "tree"
    for rel in ("detectors/tailscale.py", "detectors/evil.py", "secretsync/detectors/evil.py",
                "secretsync/__init__.py", "tailscale.py", "httpx.py", "conftest.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(evil)
    (root / "values.yaml").write_text("tailnet: tail5eed01\nplugins: [detectors/evil.py]\n")
    bl = tmp_path / "baseline.json"
    bl.write_text('{"version": 1, "kdf": {"name": "scrypt", "n": 16384, "r": 8, "p": 1, '
                  '"dklen": 16, "salt": "' + secrets.token_hex(16) + '"}, "entries": [], '
                  '"plugins_used": '
                  f'[{{"name": "Evil", "path": "file://{root}/detectors/evil.py"}}]}}')
    assert cli(["scan", "--no-progress", "--baseline", str(bl), str(root)]).code == 1
    assert not marker.exists()
    package = Path(secretsync.__file__).resolve().parent
    for name in PROVIDERS:
        module = sys.modules[f"secretsync.detectors.{name}"]
        assert Path(str(module.__file__)).resolve().is_relative_to(package.parent)
    loaded = {Path(str(getattr(m, "__file__", "") or "")).resolve() for m in list(
        sys.modules.values())}
    assert not [p for p in loaded if p.is_relative_to(root.resolve())]
    assert {d.id for d in load_detectors()} >= {"tailscale-tailnet"}


def test_constraints_pin_every_dependency_at_the_installed_version() -> None:
    lines = [ln.split("#", 1)[0].strip() for ln in
             (REPO / "constraints.txt").read_text().splitlines()]
    pins = {}
    for ln in filter(None, lines):
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", ln)
        assert m, f"not an exact pin: {ln}"
        pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    assert "secretsync" not in pins
    reqs = [Requirement(r) for r in md.requires("secretsync") or []]
    for req in reqs:
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if req.marker is not None and not any(
                req.marker.evaluate({"extra": e}) for e in ("", "test")):
            continue
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert md.version(req.name) == pins[name], req.name
