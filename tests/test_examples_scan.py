"""`secretsync scan examples/` finds exactly what examples/VALUES.md plants, nothing else,
and its JSON output matches the golden file examples/expected/scan.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

from secretsync.cli import run_cli

from .conftest import REPO

EXAMPLES = REPO / "examples"
GOLDEN = EXAMPLES / "expected" / "scan.json"


def planted() -> set[tuple[str, int, str]]:
    text = (EXAMPLES / "VALUES.md").read_text(encoding="utf-8")
    section = text.split("## Planted", 1)[1].split("## Must not be reported", 1)[0]
    rows = set()
    for m in re.finditer(r"^\| `[^`]+` \| [^|]+ \| `([^`]+):(\d+)` \| ([a-z0-9-]+) \|$", section, re.M):
        rows.add((m.group(1), int(m.group(2)), m.group(3)))
    return rows


def scan_json(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "scan.json"
    code = run_cli(["scan", str(EXAMPLES), "--format", "json", "--output", str(out)])
    assert code == 1
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_every_planted_value_is_found_and_nothing_else(tmp_path: Path) -> None:
    rows = planted()
    assert len(rows) > 80
    found = {(f["path"], f["line"], f["detector"]) for f in scan_json(tmp_path)["findings"]}
    assert sorted(rows - found) == [], "planted values not found"
    assert sorted(found - rows) == [], "reported values that are not planted (noise)"


def test_scan_output_matches_golden(tmp_path: Path) -> None:
    got = scan_json(tmp_path)
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert got["findings"] == want["findings"]
    assert got["secrets"] == want["secrets"]


def test_seed_values_never_appear_in_any_output(tmp_path: Path) -> None:
    seed_values = ["tail876052", "k3r7wuCSzd11CNTRL", "tgrsoxiakeqdr1gg",
                   "wsZ3vIm5FlxztPisdo3Jq5BaeJvASZrz", "f6746974-5104-49ef-beed-c66a048f5062",
                   "1003078665133", "4aa95df965d3bc2bfaabe9012a35857c"]
    for fmt in ("json", "sarif", "table"):
        out = tmp_path / f"out.{fmt}"
        assert run_cli(["scan", str(EXAMPLES), "--format", fmt, "--output", str(out)]) == 1
        text = out.read_text(encoding="utf-8")
        for v in seed_values:
            assert v not in text, (fmt, v)
