"""Issue 12 §3: rough edges a new user hits, each as the user meets it (through the CLI)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import NoKeyringError

from secretsync.testing import DopplerTestServer
from tests.security.helpers import cli

TAILNET = "tail4f9c2e"
LONG = "modules/infrastructure/helm-values/monitoring/kube-prometheus-stack-values"


class _NoKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise NoKeyringError("No recommended backend was available")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NoKeyringError("none")

    def delete_password(self, service: str, username: str) -> None:
        raise NoKeyringError("none")


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DOPPLER_TOKEN", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(_NoKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A value in a file that nothing deploys: plan pushes it and leaves it for a human."""
    root = tmp_path / "tree"
    (root / LONG).mkdir(parents=True)
    (root / ".secretsync.yaml").write_text("project: demo\n")
    (root / LONG / "values.yaml").write_text(f"global:\n  tailnet: {TAILNET}\n")
    return root


def test_push_set_uses_the_project_in_secretsync_yaml(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with DopplerTestServer() as srv:
        srv.add_project("demo")
        monkeypatch.setenv("DOPPLER_API_HOST", srv.url)
        monkeypatch.setenv("DOPPLER_TOKEN", srv.issue_token("personal"))
        monkeypatch.delenv("DOPPLER_PROJECT", raising=False)
        monkeypatch.chdir(root)  # where plan's hint is run
        r = cli(["push", "--set", "AUTH0_DOMAIN", "--config", "prd"], stdin="prod.example\n")
        assert r.code == 0, r.err
        assert "AUTH0_DOMAIN in demo/prd" in r.out


def test_verify_advice_matches_what_plan_and_apply_do(root: Path) -> None:
    plan = cli(["plan", "--offline", str(root)])
    assert "no chart or kustomization in the tree deploys this file" in plan.out
    r = cli(["verify", "--offline", "-f", "json", str(root)])
    import json

    (problem,) = next(c for c in json.loads(r.out)["checks"] if c["id"] == "literal")["problems"]
    assert "secretsync apply" not in problem["fix"]
    assert "no chart or kustomization in the tree deploys this file" in problem["fix"]


def test_the_table_fits_columns_and_never_breaks_a_path(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "90")
    r = cli(["scan", "--no-progress", str(root)])
    assert r.code == 1
    lines = r.out.splitlines()
    assert max(len(ln) for ln in lines if not ln.startswith("  ")) <= 90
    assert any(f"{LONG}/values.yaml:2:12 global.tailnet" in ln for ln in lines)


def test_help_shows_no_python_types() -> None:
    for cmd in ("scan", "plan", "apply", "rewrite", "verify", "push", "init"):
        r = cli([cmd, "--help"])
        assert r.code == 0, cmd
        assert not re.search(r"<bool>|<list\[", r.out), (cmd, r.out)


def test_verbose_works_after_the_subcommand(root: Path) -> None:
    r = cli(["scan", str(root), "-v", "--no-progress"])
    assert r.code == 1, r.err


def test_a_binary_file_given_directly_is_not_said_to_be_scanned(tmp_path: Path) -> None:
    binary = tmp_path / "blob.yaml"
    binary.write_bytes(b"\0\1\2" * 100)
    r = cli(["scan", "--no-progress", str(binary)])
    assert "No findings in 1 files" not in r.out
    assert "1 not read" in r.out and "binary" in r.err


def test_an_unknown_config_version_is_refused(root: Path) -> None:
    (root / ".secretsync.yaml").write_text("version: 2\nproject: demo\n")
    r = cli(["plan", "--offline", str(root)])
    assert r.code == 2 and "version must be 1" in r.err


def test_a_missing_token_says_so_first_and_names_offline(root: Path, no_keyring: None) -> None:
    from tests.security.helpers import _store

    (root / "stores").mkdir()
    (root / "stores" / "prd.yaml").write_text(_store("prd"))
    (root / "stores" / "es.yaml").write_text(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: app\n"
        "spec:\n  secretStoreRef:\n    kind: ClusterSecretStore\n    name: doppler-prd\n"
        "  target:\n    name: app\n  data:\n    - secretKey: A\n      remoteRef:\n"
        "        key: A\n")
    for argv, offline in ((["verify", str(root)], "verify --offline"),
                          (["plan", str(root)], "plan --offline")):
        r = cli(argv)
        assert r.code == 2
        first = r.err.splitlines()[0]
        assert first.startswith("error: no Doppler token"), first
        assert "Error" not in first  # no exception class name in the headline
        assert offline in r.err


def test_rewrite_dry_run_prints_no_empty_doppler_header(root: Path) -> None:
    (root / LONG / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 0.1.0\n")
    r = cli(["rewrite", "--dry-run", "--offline", str(root)])
    assert r.code == 0, r.err
    assert "+++ " in r.out  # the diff of the rewrite it would make
    assert "Doppler actions" not in r.out
