"""The history benchmark's triage file: one verdict per finding, with a reason, and no value."""

from __future__ import annotations

import csv
import re

from secretsync.detectors import DETECTOR_IDS

from ..conftest import REPO

TRIAGE = REPO / "benchmarks" / "history-triage.tsv"


def test_every_row_has_a_verdict_and_a_reason() -> None:
    with TRIAGE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert rows and list(rows[0]) == ["path", "commit", "key_path", "detector", "verdict",
                                     "reason"]
    keys = set()
    for r in rows:
        assert re.fullmatch(r"[0-9a-f]{40}", r["commit"]), r
        assert r["detector"] in DETECTOR_IDS, r
        assert r["verdict"] in ("true", "false"), r
        assert len(r["reason"]) > 10, r
        keys.add((r["path"], r["commit"], r["key_path"], r["detector"]))
    assert len(keys) == len(rows), "one row per finding"
    assert {r["verdict"] for r in rows} == {"true", "false"}
