"""Score a secretsync scan against a hand-labelled set (second- or third-set-labels.tsv).

usage: python benchmarks/score_labels.py LABELS.tsv SCAN.json

SCAN.json is `secretsync scan DIR -f json -o SCAN.json` over the set built as the labels file's
header says (paths relative to DIR). Prints recall (labelled secret lines with a finding / all
labelled secret lines), the findings on lines labelled harmless, and the findings on lines the
file does not label (each one needs a label). Paths and lines only: values are never printed.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def labels(path: Path) -> dict[tuple[str, int], str]:
    rows = [ln for ln in path.read_text(encoding="utf-8").splitlines()
            if ln and not ln.startswith("#")]
    if rows[0].split("\t")[:3] != ["path", "line", "label"]:
        raise SystemExit(f"{path}: header must start with path, line, label")
    out: dict[tuple[str, int], str] = {}
    for ln in rows[1:]:
        p, line, label, _why = ln.split("\t", 3)
        if label not in ("secret", "harmless"):
            raise SystemExit(f"{path}: unknown label {label!r}")
        out[(p, int(line))] = label
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    lab = labels(Path(argv[1]))
    findings = json.loads(Path(argv[2]).read_text(encoding="utf-8"))["findings"]
    per_line = Counter((f["path"], f["line"]) for f in findings)
    secrets = [k for k, v in lab.items() if v == "secret"]
    found = [k for k in secrets if per_line[k]]
    harmless = {k: n for k, n in per_line.items() if lab.get(k) == "harmless"}
    unlabelled = sorted(k for k in per_line if k not in lab)
    print(f"recall {len(found)}/{len(secrets)} = {len(found) / max(len(secrets), 1):.3f}")
    print(f"findings on harmless lines: {sum(harmless.values())} ({len(harmless)} lines)")
    for p, line in sorted(harmless):
        print(f"  harmless {p}:{line}")
    for p, line in sorted(set(secrets) - set(found)):
        print(f"  missed   {p}:{line}")
    for p, line in unlabelled:
        print(f"  UNLABELLED {p}:{line}")
    return 1 if unlabelled else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
