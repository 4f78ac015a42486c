"""Issue 12 §2.5: a value used as a mapping key is scanned like a value, and no key path in any
output (scan table/json/sarif, plan, verify) or Doppler name carries a value that was found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import cli, find_canaries

TAILNET = "tail4f9c2e"
TUNNEL = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
PASSWORD = "Pw-x8Kq2mZ7vB4nR6tY1wE3s"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "app").mkdir(parents=True)
    (root / ".secretsync.yaml").write_text("project: demo\n")
    (root / "app" / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    # The tailnet appears only in keys: nothing else would report it.
    (root / "app" / "values.yaml").write_text(
        "hosts:\n"
        f"  grafana.{TAILNET}.ts.net:\n"
        f"    password: {PASSWORD}\n"
        "cloudflared:\n"
        f"  tunnel: {TUNNEL}\n"
        "  credentials:\n"
        f"    {TUNNEL}.json: x\n")
    return root


def test_a_key_is_scanned_like_a_value(root: Path) -> None:
    r = cli(["scan", "--no-progress", "-f", "json", str(root)])
    doc = json.loads(r.out)
    lines = {(f["line"], f["detector"]) for f in doc["findings"]}
    assert (2, "tailscale-tailnet") in lines, lines
    assert any(line == 7 and det == "cloudflare-tunnel-id" for line, det in lines), lines


@pytest.mark.parametrize("argv", [
    ["scan", "--no-progress", "-f", "json"],
    ["scan", "--no-progress", "-f", "sarif"],
    ["scan", "--no-progress"],
    ["plan", "--offline"],
    ["verify", "--offline"],
    ["verify", "--offline", "-f", "json"],
    ["verify", "--offline", "-f", "sarif"],
])
def test_no_output_carries_a_found_value_in_a_key_path(root: Path, argv: list[str]) -> None:
    r = cli([*argv, str(root)])
    assert r.code in (0, 1), r.err[-2000:]
    assert not find_canaries({"stdout": r.out, "stderr": r.err}, [TAILNET, TUNNEL, PASSWORD])
