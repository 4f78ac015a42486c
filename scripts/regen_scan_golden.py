"""Regenerate examples/expected/scan.json on purpose, after a reviewed change in what the
scanner reports. Run: .venv/bin/python scripts/regen_scan_golden.py"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    out = REPO / "examples" / "expected" / "scan.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "secretsync", "scan", "examples", "--format", "json"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr)
        return proc.returncode
    doc = json.loads(proc.stdout)
    keep = {"findings": doc["findings"], "secrets": doc["secrets"]}
    out.write_text(json.dumps(keep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(REPO)}: {len(doc['findings'])} findings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
