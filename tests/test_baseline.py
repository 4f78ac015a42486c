"""The baseline cannot give a value back: salted, memory-hard, refuses weak parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secretsync import baseline
from secretsync.errors import ConfigError
from secretsync.models import Finding

TAILNET = "tail876052"


def finding(value: str = TAILNET) -> Finding:
    return Finding(path="apps/values.yaml", line=2, column=12, end_line=2, end_column=22,
                   start=20, end=30, key_path=("global", "tailnet"),
                   detector="tailscale-tailnet", value=value)


def test_hashes_are_salted_per_baseline_and_memory_hard(tmp_path: Path) -> None:
    a = baseline.Baseline.new().updated([finding()])
    b = baseline.Baseline.new().updated([finding()])
    assert a.entries[0].value_hash != b.entries[0].value_hash  # no shared precomputation
    assert a.kdf["name"] == "scrypt" and int(a.kdf["n"]) >= 2**15 and int(a.kdf["r"]) >= 8
    text = a.dump()
    assert TAILNET not in text and "876052" not in text
    path = tmp_path / "b.json"
    baseline.save(a, path)
    loaded = baseline.load(path)
    assert loaded.contains(finding())
    assert not loaded.contains(finding("tail99aa01"))


@pytest.mark.parametrize("change", [
    {"n": 2**10}, {"r": 1, "n": 2**10}, {"salt": "00"}, {"name": "sha1"}, {"p": 64},
])
def test_weak_or_hostile_parameters_are_refused(tmp_path: Path, change: dict[str, object]) -> None:
    raw = json.loads(baseline.Baseline.new().updated([finding()]).dump())
    raw["kdf"].update(change)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError):
        baseline.load(path)
