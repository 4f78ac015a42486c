"""secretsync's findings on the third hand-labelled set stay where benchmarks/third-set-labels.tsv
puts them: every finding on a labelled line, the labelled secrets found at least as before,
and no more findings on harmless lines than when the labels were written.

The set (five public GitOps repositories, commits in the labels file's header) is built outside
the repository ($SECRETSYNC_THIRD_SET, else ../third beside the repository); where it is not
built these tests are skipped, and say so. No third-party file is committed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from secretsync.scan import ScanOptions, run_scan

from .conftest import REPO

LABELS = REPO / "benchmarks" / "third-set-labels.tsv"
THIRD = Path(os.environ.get("SECRETSYNC_THIRD_SET") or REPO.parent / "third")
FILES = 2748
# Labelled secrets left unreported, each with its reason in the labels file: a six-letter
# password (a Netdata API key under the two-word INI key `api key =`, twice, is found since).
KNOWN_MISSES = 1
HARMLESS_REPORTED = 2
"""A third party's R2 host named in a network policy comment; a commented application default."""

Line = tuple[str, int]


def labels() -> dict[Line, str]:
    rows = [ln for ln in LABELS.read_text(encoding="utf-8").splitlines()
            if ln and not ln.startswith("#")]
    assert rows[0].split("\t") == ["path", "line", "label", "why"]
    out: dict[Line, str] = {}
    for ln in rows[1:]:
        path, line, label, why = ln.split("\t")
        assert label in ("secret", "harmless"), ln
        assert why.strip(), f"a label needs a reason: {ln}"
        assert (path, int(line)) not in out, f"duplicate label: {ln}"
        out[(path, int(line))] = label
    return out


def test_labels_are_well_formed() -> None:
    rows = labels()
    assert sum(v == "secret" for v in rows.values()) > KNOWN_MISSES


@pytest.fixture(scope="module")
def reported() -> list[Line]:
    if not THIRD.is_dir():
        pytest.skip(f"third hand-labelled set not built at {THIRD} "
                    "(see benchmarks/third-set-labels.tsv)")
    nfiles = sum(1 for p in THIRD.rglob("*") if p.is_file())
    assert nfiles == FILES, f"{THIRD} has {nfiles} files, not {FILES}: rebuild it"
    result, _ = run_scan([THIRD], ScanOptions())
    return [(f.path, f.line) for f in result.findings]


def test_every_finding_is_on_a_labelled_line(reported: list[Line]) -> None:
    rows = labels()
    assert sorted({r for r in reported if r not in rows}) == [], "label these lines"


def test_recall_and_harmless_findings(reported: list[Line]) -> None:
    rows = labels()
    secrets = {r for r, v in rows.items() if v == "secret"}
    assert len(secrets - set(reported)) <= KNOWN_MISSES
    assert sum(rows.get(r) == "harmless" for r in reported) <= HARMLESS_REPORTED
