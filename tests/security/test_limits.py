"""Issue 12 §2.4: every reader takes the scan's size, depth and alias limits (one shared loader,
secretsync/reading.py), and no regular expression of the parser is superlinear."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from secretsync import reading

from .helpers import Planted

LIMIT = 20.0  # seconds: the bomb below takes hours to build, a refused one well under a second


def merge_bomb(levels: int = 30) -> str:
    """About 900 bytes: each level merges the previous one twice (2**30 keys once built)."""
    # The words every reader's prefilter looks for, so each one loads it (Argo CD, Flux, ESO).
    lines = ["# SecretStore ExternalSecret secretKeyRef cnpg argoproj.io/v1alpha1 "
             "kustomize.toolkit.fluxcd.io", "# kind: Application", "kind: SecretStore",
             "a0: &a0 {k: v}"]
    lines += [f"a{i}: &a{i}\n  <<: [*a{i - 1}, *a{i - 1}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "secretsync", *argv], capture_output=True,
                          text=True, timeout=LIMIT, check=False)


@pytest.fixture
def planted_tree(tmp_path: Path) -> Path:
    root = Planted().tree(tmp_path / "tree")
    (root / ".secretsync.yaml").write_text("project: canary\n")
    return root


@pytest.mark.parametrize("command", ["plan", "verify"])
def test_a_merge_key_bomb_is_refused_by_plan_and_verify(planted_tree: Path, command: str) -> None:
    bomb = merge_bomb()
    assert len(bomb) < 1100
    (planted_tree / "stores" / "bomb.yaml").write_text(bomb)
    t0 = time.monotonic()
    proc = run(command, "--offline", str(planted_tree))
    assert time.monotonic() - t0 < LIMIT
    assert proc.returncode in (0, 1), proc.stderr[-2000:]


@pytest.mark.parametrize("command", ["plan", "verify"])
def test_a_symlink_to_dev_zero_is_never_read(planted_tree: Path, command: str) -> None:
    """The chart template plan generates, committed as a symlink to /dev/zero."""
    (planted_tree / "chart0/templates/secretsync-externalsecret.yaml").symlink_to("/dev/zero")
    proc = run(command, "--offline", str(planted_tree))
    assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]


def test_the_shared_loader_refuses_bombs_deep_nesting_and_recursion() -> None:
    deep_anchor = "a: &a " + "[" * 60 + "1" + "]" * 60 + "\n"
    deep_alias = "b: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    for text in (merge_bomb(), "a: &a [*a]\n", "[" * 150 + "]" * 150,
                 deep_anchor + deep_alias):
        with pytest.raises(reading.YAMLLimit):
            reading.load_all(text)
    # What real trees do with anchors and merge keys still loads.
    assert reading.load("base: &b {x: 1}\nprd:\n  <<: *b\n  y: 2\n") == {
        "base": {"x": 1}, "prd": {"x": 1, "y": 2}}


def test_the_shared_reader_refuses_devices_fifos_big_files_and_symlinks_out(
        tmp_path: Path) -> None:
    import os

    root = tmp_path / "t"
    root.mkdir()
    (root / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(root / "fifo.yaml")
    (root / "big.yaml").write_bytes(b"x" * 1025)
    (tmp_path / "out.yaml").write_text("a: 1\n")
    (root / "out.yaml").symlink_to(tmp_path / "out.yaml")
    for name in ("zero.yaml", "fifo.yaml", "out.yaml"):
        with pytest.raises(reading.UnsafeFile):
            reading.read_bytes(root / name, root=root)
    with pytest.raises(reading.UnsafeFile):
        reading.read_bytes(root / "big.yaml", max_bytes=1024)
    assert reading.read_bytes(root / "big.yaml", root=root) == b"x" * 1025


# Lines built to make a backtracking regex go quadratic: each shape is scanned whole (parser,
# text-line fallback, block-scalar sniffers, every detector) at n and 4n characters.
_SHAPES = {
    "dashes": '"- " * n + "x"',
    "dashes-then-hash": '"- " * n + "#:"',
    "key-then-blanks": '"a" + " " * n + "x"',
    "value-then-blanks": '"k: a" + " " * n + "b"',
    "blank-lines-in-block": '"k: |\\n" + "  \\n" * n + "  x\\n"',
    "open-brackets-in-block": '"k: |\\n" + "  [a\\n" * n',
    "equals-in-block": '"k: |\\n  " + "a=" * n',
    "base64-run": '"password: " + "Ab9+" * n + "!"',
    "colons": '"a:" * n',
    "escaped-quotes": '"k: \\"" + "\\\\\\"" * n',
}
_TIMING = """
import json, sys, time
from pathlib import Path
from secretsync import documents
from secretsync.detectors import load_detectors
from secretsync.scan import scan_file
from secretsync.walk import SourceFile
dets = load_detectors()
shapes = json.loads(sys.argv[1])
def cost(shape, n):
    text = eval(shape, {"n": n}).encode()
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        documents.parse_text("x.yaml", text.decode(), False, "text")
        scan_file(SourceFile(Path("x.yaml"), "x.yaml", False), text, dets)
        scan_file(SourceFile(Path("templates/x.yaml"), "templates/x.yaml", True), text, dets)
        best = min(best, time.perf_counter() - t0)
    return best
def ratio(shape):
    return cost(shape, 4 * 40000) / cost(shape, 40000)
# A ratio over the bound is measured again: a loaded machine can slow one run, not every run.
print(json.dumps({k: min(ratio(s), ratio(s)) if ratio(s) >= 10 else 0 for k, s in shapes.items()}))
"""


def test_no_regex_is_superlinear() -> None:
    """Linear code takes about 4x as long on 4x the input, quadratic 16x: the bound (10) leaves
    room for a loaded machine, and a quadratic shape (63 s on 80 KB once) trips the timeout."""
    import json

    proc = subprocess.run([sys.executable, "-c", _TIMING, json.dumps(_SHAPES)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    slow = {k: r for k, r in json.loads(proc.stdout).items() if r >= 10}
    assert not slow, f"4x the input took this many times as long: {slow}"
