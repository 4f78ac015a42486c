"""Issue 12 §2: defects a hostile review found, each pinned by the test that failed before its
fix. Values are planted fresh for every test (tests/security/helpers.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


# -- §2.7: baseline parameters ------------------------------------------------------------------
def _baselined_tree(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """A tree with one finding and a baseline (written by the tool) that accepts it."""
    from tests.conftest import build_tree

    root = build_tree(tmp_path / "t", {"values.yaml": "global:\n  tailnet: tail3f9c2a\n"})
    bl = tmp_path / "b.json"
    r = cli(["scan", str(root), "--baseline", str(bl), "--update-baseline"])
    assert r.code == 0, r.err
    raw = json.loads(bl.read_text(encoding="utf-8"))
    assert raw["entries"] and cli(["scan", str(root), "--baseline", str(bl)]).code == 0
    return root, bl, raw


@pytest.mark.parametrize("change", [
    {"n": 2**15 + 1},  # not a power of two: hashlib raised ValueError (exit 3)
    {"n": 2**18, "r": 16},  # 512 MiB a hash, over scrypt's memory cap (exit 3)
    {"dklen": 8},  # too short to tell values apart
    {"dklen": 2**31},  # a 2 GiB output per hash
    {"n": True}, {"r": "8"}, {"p": 1.5}, {"p": 0}, {"dklen": None},
    {"salt": "00" * 16},  # the right length, no entropy
    {"salt": "ab" * 200},  # longer than any salt this tool writes
    {"salt": "zz"},
])
def test_hostile_baseline_parameters_exit_2(tmp_path: Path, change: dict[str, Any]) -> None:
    root, bl, raw = _baselined_tree(tmp_path)
    raw["kdf"].update(change)
    bl.write_text(json.dumps(raw), encoding="utf-8")
    r = cli(["scan", str(root), "--baseline", str(bl)])
    assert r.code == 2, (change, r.code, r.err[-300:])
    assert "baseline" in r.err


def test_update_baseline_writes_fresh_strong_parameters(tmp_path: Path) -> None:
    from secretsync.baseline import KDF

    root, bl, raw = _baselined_tree(tmp_path)
    weak_but_accepted = {**raw["kdf"], "n": 2**16, "p": 2}
    bl.write_text(json.dumps({**raw, "kdf": weak_but_accepted}), encoding="utf-8")
    assert cli(["scan", str(root), "--baseline", str(bl), "--update-baseline"]).code == 0
    kdf = json.loads(bl.read_text(encoding="utf-8"))["kdf"]
    assert {k: kdf[k] for k in KDF} == KDF
    assert kdf["salt"] != raw["kdf"]["salt"]  # a fresh salt every time it is written


# -- §2.13: temporary files ---------------------------------------------------------------------
def test_baseline_save_never_writes_through_a_planted_symlink(tmp_path: Path) -> None:
    """The baseline's temp file was `.<name>.tmp<pid>`, written through whatever was there:
    a symlink planted at that name (the pid is guessable) redirected the write anywhere."""
    import os

    from tests.conftest import build_tree

    root = build_tree(tmp_path / "t", {"values.yaml": "global:\n  tailnet: tail3f9c2a\n"})
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    bl = out / "b.json"
    (out / f".b.json.tmp{os.getpid()}").symlink_to(victim)
    assert cli(["scan", str(root), "--baseline", str(bl), "--update-baseline"]).code == 0
    assert victim.read_text(encoding="utf-8") == "untouched\n"
    assert json.loads(bl.read_text(encoding="utf-8"))["entries"]
    assert not bl.is_symlink()


def test_atomic_write_never_follows_a_planted_temp_name(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every temp file (rewrites, baselines, init) is created with O_EXCL and O_NOFOLLOW under a
    random name: a symlink planted at the name it draws is neither followed nor replaced."""
    from secretsync import rewrite

    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n", encoding="utf-8")
    target = tmp_path / "values.yaml"
    target.write_text("a: 1\n", encoding="utf-8")
    names = iter(["planted", "planted", "fresh"])
    monkeypatch.setattr(rewrite.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".values.yaml.planted.secretsync").symlink_to(victim)
    rewrite.atomic_write(target, b"a: 2\n")
    assert target.read_bytes() == b"a: 2\n" and victim.read_text(encoding="utf-8") == "untouched\n"
    assert (tmp_path / ".values.yaml.planted.secretsync").is_symlink()


# -- §2.3 and §2.12: .secretsync.yaml -----------------------------------------------------------
def test_init_refuses_a_dangling_config_symlink(tmp_path: Path) -> None:
    from tests.conftest import build_tree

    root = build_tree(tmp_path / "t", {"values.yaml": "global:\n  tailnet: tail3f9c2a\n"})
    outside = tmp_path / "outside.yaml"
    (root / ".secretsync.yaml").symlink_to(outside)
    for argv in (["init", str(root)], ["init", str(root), "--force"]):
        r = cli(argv)
        assert r.code == 2 and "symlink" in r.err, (argv, r.err)
        assert not outside.exists()
    assert (root / ".secretsync.yaml").is_symlink()


def test_init_quotes_every_value_the_tree_supplies(tmp_path: Path) -> None:
    """A store's `project` (and a key path) come from the tree: pasted raw, a newline in one
    wrote settings of the tree's choosing into .secretsync.yaml."""
    from secretsync.config import load
    from tests.conftest import build_tree

    from .helpers import _store

    evil = 'p"\nexcludes: [\'**\']\n# \u202e'
    store = _store("prd").replace("      config: prd\n",
                                  f"      config: prd\n      project: {json.dumps(evil)}\n")
    key = 'tailnet\nexcludes: ["**"]'
    root = build_tree(tmp_path / "t", {
        "stores/prd.yaml": store,
        "values-prd.yaml": f"global:\n  {json.dumps(key)}: tail3f9c2a\n  tailnet: tail3f9c2b\n",
    })
    r = cli(["init", str(root)])
    assert r.code == 0, r.err
    text = (root / ".secretsync.yaml").read_text(encoding="utf-8")
    assert "\u202e" not in text
    cfg = load(root)
    assert cfg.project == evil and cfg.excludes == ()
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == [".secretsync.yaml"]


def test_config_symlink_out_of_the_tree_is_not_read(tmp_path: Path) -> None:
    from tests.conftest import build_tree

    root = build_tree(tmp_path / "t", {"values.yaml": "global:\n  tailnet: tail3f9c2a\n"})
    outside = tmp_path / "outside.yaml"
    outside.write_text("project: from-outside\nverify:\n  skip: [literal]\n", encoding="utf-8")
    (root / ".secretsync.yaml").symlink_to(outside)
    for argv in (["plan", str(root), "--offline"], ["verify", str(root), "--offline"]):
        r = cli(argv)
        assert r.code == 2 and "symlink out of the tree" in r.err, (argv, r.code, r.err)
        assert "from-outside" not in r.out + r.err
    inside = root / "conf.yaml"
    inside.write_text("project: from-inside\n", encoding="utf-8")
    (root / ".secretsync.yaml").unlink()
    (root / ".secretsync.yaml").symlink_to(inside)
    r = cli(["plan", str(root), "--offline"])
    assert r.code == 0 and "from-inside" in r.out, r.err


def test_config_errors_never_quote_values(tmp_path: Path) -> None:
    from tests.conftest import build_tree

    root = build_tree(tmp_path / "t", {
        ".secretsync.yaml": "project: first-9f3kq2\nproject: second-7d1mz8\n",
        "values.yaml": "a: 1\n"})
    r = cli(["plan", str(root), "--offline"])
    assert r.code == 2 and "duplicate key" in r.err
    assert "9f3kq2" not in r.err + r.out and "7d1mz8" not in r.err + r.out


# -- §2.6: a generated manifest nothing deploys ------------------------------------------------
def test_verify_fails_a_generated_manifest_no_kustomization_lists(tmp_path: Path) -> None:
    from .test_kill import _overlay_tree

    root = _overlay_tree(tmp_path / "t", Planted())
    assert cli(["rewrite", str(root), "--project", PROJECT, "--offline"]).code == 0
    ok = cli(["verify", str(root), "--offline", "--format", "json", "--check", "unresolved-ref"])
    assert ok.code == 0, ok.out
    kust = root / "overlays/prd/kustomization.yaml"
    kust.write_text("resources:\n  - ../../base\n", encoding="utf-8")  # what a kill left
    r = cli(["verify", str(root), "--offline", "--format", "json", "--check", "unresolved-ref"])
    assert r.code == 1
    problems = [p for c in json.loads(r.out)["checks"] for p in c["problems"]]
    assert any("overlays/prd/secretsync-web-doppler.yaml" in p["message"] and
               "nothing deploys it" in p["message"] for p in problems), problems


# -- §2.8: anchors ------------------------------------------------------------------------------
_ANCHORED = (
    "global:\n"
    "  telegram:\n"
    "    botToken: &tok \"{token}\"\n"
    "other:\n"
    "  token: *tok\n"
)


def test_rewrite_keeps_an_anchor_an_alias_uses(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    from tests.conftest import build_tree

    planted = Planted()
    root = build_tree(tmp_path / "t", {
        "c/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "c/values.yaml": _ANCHORED.format(token=planted.bot_token),
    })
    r = cli(["rewrite", str(root), "--project", PROJECT, "--offline"])
    assert r.code == 0, r.err
    loaded = YAML(typ="safe", pure=True).load((root / "c/values.yaml").read_text())
    assert loaded["other"]["token"] == loaded["global"]["telegram"]["botToken"]
    plan = cli(["plan", str(root), "--project", PROJECT, "--offline"])
    assert "anchor" in plan.out


def test_the_post_rewrite_check_composes_aliases() -> None:
    from secretsync.documents import parse_yaml
    from secretsync.errors import RewriteError
    from secretsync.rewrite import Splice, edit_bytes

    text = _ANCHORED.format(token="x" * 12)
    start = text.index("&tok")
    end = text.index('"\n', start) + 1
    sp = Splice(start, end, '"' + "x" * 12 + '"', (), ())  # same scalars, the anchor gone
    with pytest.raises(RewriteError, match="anchor"):
        edit_bytes("v.yaml", text.encode(), parse_yaml("v.yaml", text), [sp])
    bomb = "a: &a [x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(24))
    with pytest.raises(RewriteError, match="aliases"):
        edit_bytes("b.yaml", bomb.encode(), parse_yaml("b.yaml", bomb), [])


# -- §2.1: dry-run redaction as written ---------------------------------------------------------
def test_dry_run_redacts_values_as_written(tmp_path: Path) -> None:
    from tests.conftest import build_tree

    tail = Planted().password[3:]
    written = {
        "a": ('"Pw-a\\\\b' + tail + '"', "Pw-a\\b" + tail),
        "b": ('"Pw-\\x41b' + tail + '"', "Pw-Ab" + tail),
        "c": ("'Pw-b''c" + tail + "'", "Pw-b'c" + tail),
    }
    values = "".join(f"{k}:\n  password: {raw}\n" for k, (raw, _) in written.items())
    root = build_tree(tmp_path / "t", {
        "c/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "c/values.yaml": values,
    })
    for argv in (["rewrite", str(root), "--project", PROJECT, "--offline", "--dry-run"],):
        r = cli(argv)
        assert r.code == 0, r.err
        assert "passwordSecretRef" in r.out  # the diff is there ...
        for raw, parsed in written.values():
            assert raw[1:-1] not in r.out + r.err and parsed not in r.out + r.err  # ... redacted
        assert tail[:8] not in r.out + r.err
