"""Issue 12 §2.9: the pull-request gate must not trust the pull request's own `.secretsync.yaml`.
`verify --config-from REV` reads it from the target branch; a config that disables checks or
excludes everything is said so in the summary."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.verify.helpers import cli, verify

_VALUES = "telegram:\n  botToken: 7012345678:AAF1kq9Z7xYtR3mN5bV8cX2zL4pQ6wE0sDg\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
                        "HOME": str(root), "PATH": "/usr/bin:/bin"})


def _repo(tmp_path: Path, pr_config: str) -> Path:
    """`main` with an honest config; the checked-out pull request adds a value and weakens it."""
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / ".secretsync.yaml").write_text("project: demo\n")
    (root / "app" / "values.yaml").write_text("replicas: 1\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    _git(root, "checkout", "-qb", "pr")
    (root / "app" / "values.yaml").write_text(_VALUES)
    (root / ".secretsync.yaml").write_text(pr_config)
    _git(root, "commit", "-qam", "pr")
    return root


def test_a_pull_request_config_cannot_turn_the_gate_green(tmp_path: Path) -> None:
    for weak in ("project: demo\nverify:\n  skip: [literal]\n",
                 "project: demo\nexcludes: ['*']\n"):
        root = _repo(tmp_path / str(len(weak)), weak)
        # Trusting the pull request's config: green (what the recipes must not do).
        assert verify(root, "--offline").code == 0
        r = verify(root, "--offline", "--config-from", "main")
        assert r.code == 1, r.err
        assert r.check("literal")["status"] == "fail"
        assert r.json()["config"]["source"] == "main:.secretsync.yaml"


def test_a_weakening_config_is_named_in_the_summary(tmp_path: Path) -> None:
    root = _repo(tmp_path, "project: demo\nexcludes: ['*']\nverify:\n  skip: [literal, build]\n")
    r = cli(["verify", str(root), "--offline"])
    assert r.code == 0
    assert "config skips checks: build, literal" in r.out
    assert "config excludes every file (2 of 2)" in r.out
    doc = verify(root, "--offline").json()["config"]
    assert doc["skipped_checks"] == ["build", "literal"] and doc["excluded_files"] == [2, 2]


def test_config_from_a_rev_without_the_file_uses_the_defaults_and_bad_revs_are_usage_errors(
        tmp_path: Path) -> None:
    root = _repo(tmp_path, "project: demo\n")
    _git(root, "rm", "-q", "--cached", ".secretsync.yaml")
    _git(root, "commit", "-qm", "drop")
    r = verify(root, "--offline", "--config-from", "HEAD")
    assert r.json()["config"]["source"] == "HEAD (no .secretsync.yaml: defaults)"
    for bad in ("no-such-branch", "--output=/tmp/x"):
        r = cli(["verify", str(root), "--offline", "--config-from", bad])
        assert r.code == 2, (bad, r.err)
