"""secretsync's findings on the public corpus match benchmarks/corpus-triage.tsv exactly.

The corpus (twelve public GitOps repositories, shared/corpus/REPOS.md) is built outside the
repository by shared/corpus/build.sh; no third-party file is committed. Where it is not built
($SECRETSYNC_CORPUS, else ../corpus beside the repository) these tests are skipped, and say so.
A finding that appears or disappears without its triage line changing fails here: every line
`true` must be reported, every reported finding must have a `true` line, and no line `false`
or `missed` may be reported.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from secretsync.scan import ScanOptions, run_scan

from .conftest import REPO

TRIAGE = REPO / "benchmarks" / "corpus-triage.tsv"
CORPUS = Path(os.environ.get("SECRETSYNC_CORPUS") or REPO.parent / "corpus")
CORPUS_FILES = 4559
VERDICTS = ("true", "false", "missed")

Row = tuple[str, int, str]


def triage() -> dict[Row, str]:
    rows: dict[Row, str] = {}
    lines = [ln for ln in TRIAGE.read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    assert lines[0].split("\t") == ["path", "line", "detector", "verdict", "reason"]
    for ln in lines[1:]:
        path, line, detector, verdict, reason = ln.split("\t")
        assert verdict in VERDICTS, ln
        assert reason.strip(), f"a verdict needs a reason: {ln}"
        key = (path, int(line), detector)
        assert key not in rows, f"duplicate triage line: {ln}"
        rows[key] = verdict
    return rows


def test_triage_file_is_well_formed() -> None:
    rows = triage()
    assert rows
    assert any(v == "true" for v in rows.values())


@pytest.fixture(scope="module")
def reported() -> set[Row]:
    if not CORPUS.is_dir():
        pytest.skip(f"public corpus not built at {CORPUS} (shared/corpus/build.sh)")
    nfiles = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    assert nfiles == CORPUS_FILES, f"{CORPUS} has {nfiles} files, not {CORPUS_FILES}: rebuild it"
    result, _ = run_scan([CORPUS], ScanOptions())
    return {(f.path, f.line, f.detector) for f in result.findings}


def test_every_finding_is_triaged_true(reported: set[Row]) -> None:
    rows = triage()
    untriaged = sorted(r for r in reported if rows.get(r) != "true")
    assert untriaged == [], "findings without a `true` triage line (add or fix the line)"


def test_every_true_line_is_reported(reported: set[Row]) -> None:
    missing = sorted(r for r, v in triage().items() if v == "true" and r not in reported)
    assert missing == [], "triaged true but no longer reported"
