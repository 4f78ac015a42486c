"""Issue 12 §2: defects a hostile review found, each pinned by the test that failed before its
fix. Values are planted fresh for every test (tests/security/helpers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secretsync.testing import DopplerTestServer

from .helpers import PROJECT, Planted, cli


# -- §2.2: plan digests -------------------------------------------------------------------------
def _plan_json(root: Path, out: Path) -> str:
    r = cli(["plan", str(root), "--project", PROJECT, "--offline", "-o", str(out)])
    assert r.code == 0, r.err
    return out.read_text(encoding="utf-8").replace(str(root.resolve()), "<root>")


def test_plan_digests_do_not_depend_on_the_values(tmp_path: Path) -> None:
    """A digest of a whole file that is later committed rewritten, with the plan's offsets,
    let anyone test guesses of a short id offline. Two trees that differ only in their values
    (same lengths) must give byte-identical plans: nothing in a plan can confirm a guess."""
    a = Planted()
    b = Planted()  # every value fresh, of the same shapes and lengths
    plan_a = _plan_json(a.tree(tmp_path / "a"), tmp_path / "a.json")
    plan_b = _plan_json(b.tree(tmp_path / "b"), tmp_path / "b.json")
    assert json.loads(plan_a)["file_digests"]  # the edited files are digested ...
    assert plan_a == plan_b  # ... and no digest depends on a value


def test_saved_plan_still_refuses_an_edit_outside_the_values(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = Planted()
    root = planted.tree(tmp_path / "t")
    _plan_json(root, tmp_path / "p.json")
    values = root / "chart0/values.yaml"
    values.write_text(values.read_text(encoding="utf-8").replace("# in git", "# in gitx"),
                      encoding="utf-8")
    with DopplerTestServer() as srv:
        srv.add_project(PROJECT)
        monkeypatch.setenv("DOPPLER_API_HOST", srv.url)
        monkeypatch.setenv("DOPPLER_TOKEN", srv.issue_token())
        r = cli(["apply", str(root), "--project", PROJECT, "--plan", str(tmp_path / "p.json"),
                 "--dry-run"])
        assert r.code == 2 and "changed since the plan was made (chart0/values.yaml)" in r.err
        values.write_text(values.read_text(encoding="utf-8").replace("# in gitx", "# in git"),
                          encoding="utf-8")
        r = cli(["apply", str(root), "--project", PROJECT, "--plan", str(tmp_path / "p.json")])
        assert r.code == 0, r.err
