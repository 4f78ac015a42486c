"""The history benchmark's triage files: one verdict per finding, with a reason, and no value."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from secretsync.detectors import DETECTOR_IDS

from ..conftest import REPO

TRIAGES = sorted((REPO / "benchmarks").glob("history-triage*.tsv"))


def test_both_benchmarked_histories_are_triaged() -> None:
    assert [p.name for p in TRIAGES] == ["history-triage-bjw-s.tsv", "history-triage.tsv"]


@pytest.mark.parametrize("triage", TRIAGES, ids=lambda p: p.name)
def test_every_row_has_a_verdict_and_a_reason(triage: Path) -> None:
    with triage.open(encoding="utf-8", newline="") as f:
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
