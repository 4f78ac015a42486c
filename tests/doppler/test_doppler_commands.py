"""Credentials and the auth/push commands, through a local Typer app."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
import typer
from keyring.backend import KeyringBackend
from keyring.errors import NoKeyringError, PasswordDeleteError
from typer.testing import CliRunner

from secretsync.commands.doppler_cmds import register
from secretsync.credentials import (
    KEYRING_SERVICE,
    KEYRING_USER,
    delete_token,
    get_token,
    store_token,
)
from secretsync.errors import ConflictError, CredentialsError, UsageError
from secretsync.testing import DopplerTestServer


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("none")


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise NoKeyringError("No recommended backend was available")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"dbus failed while storing {password}")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)


@pytest.fixture
def broken_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def root() -> None:
        """Test root, so that sub-commands are addressed by name."""

    register(a)
    return a


@pytest.fixture
def env(server: DopplerTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOPPLER_API_HOST", server.url)
    monkeypatch.delenv("DOPPLER_TOKEN", raising=False)
    monkeypatch.delenv("DOPPLER_PROJECT", raising=False)


def test_env_wins_over_keyring(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.store[(KEYRING_SERVICE, KEYRING_USER)] = "dp.pt.fromkeyring"
    assert get_token({"DOPPLER_TOKEN": "dp.pt.fromenv"}).source == "env"
    t = get_token({})
    assert (t.value, t.source) == ("dp.pt.fromkeyring", "keyring")
    assert delete_token() is True
    assert delete_token() is False
    with pytest.raises(CredentialsError, match="no Doppler token"):
        get_token({})


def test_broken_keyring_points_at_doppler_token(broken_keyring: None) -> None:
    with pytest.raises(CredentialsError) as info:
        get_token({})
    assert "DOPPLER_TOKEN" in str(info.value)
    with pytest.raises(CredentialsError) as info2:
        store_token("dp.pt.secret-canary-xyz")
    assert "secret-canary-xyz" not in str(info2.value)
    assert info2.value.__cause__ is None and info2.value.__suppress_context__


def test_login_status_logout(
    app: typer.Typer, env: None, server: DopplerTestServer, memory_keyring: MemoryKeyring
) -> None:
    tok = server.issue_token("personal", name="ci-bot")
    runner = CliRunner()
    r = runner.invoke(app, ["auth", "login"], input=tok + "\n")
    assert r.exit_code == 0, r.output
    assert memory_keyring.store[(KEYRING_SERVICE, KEYRING_USER)] == tok
    r = runner.invoke(app, ["auth", "status"])
    assert r.exit_code == 0, r.output
    assert "personal" in r.output and "ci-bot" in r.output and "Test Workplace" in r.output
    assert "OS keyring" in r.output
    assert tok not in r.output
    r = runner.invoke(app, ["auth", "logout"])
    assert r.exit_code == 0
    assert memory_keyring.store == {}


def test_login_refuses_a_bad_token_and_stores_nothing(
    app: typer.Typer, env: None, memory_keyring: MemoryKeyring
) -> None:
    r = CliRunner().invoke(app, ["auth", "login"], input="dp.pt.notvalid\n")
    assert r.exit_code != 0
    assert "invalid" in str(r.exception).lower()
    assert "dp.pt.notvalid" not in str(r.exception) + r.output
    assert memory_keyring.store == {}


def test_status_of_a_service_token_shows_its_scope(
    app: typer.Typer, env: None, server: DopplerTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tok = server.issue_token("service_token", project="app", config="prd", write=False)
    monkeypatch.setenv("DOPPLER_TOKEN", tok)
    r = CliRunner().invoke(app, ["auth", "status"])
    assert r.exit_code == 0, r.output
    assert "app/prd" in r.output and "service_token" in r.output and "DOPPLER_TOKEN" in r.output
    assert tok not in r.output


def test_push_one_value_from_stdin(
    app: typer.Typer, env: None, server: DopplerTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOPPLER_TOKEN", server.issue_token())
    monkeypatch.setenv("DOPPLER_PROJECT", "app")
    runner = CliRunner()
    r = runner.invoke(app, ["push", "--set", "AUTH0_DOMAIN", "--config", "prd"],
                      input="prod.eu.auth0.com\n")
    assert r.exit_code == 0, r.output
    assert "created: AUTH0_DOMAIN in app/prd" in r.output
    assert server.get_secret("app", "prd", "AUTH0_DOMAIN") == "prod.eu.auth0.com"
    assert "prod.eu.auth0.com" not in r.output

    r = runner.invoke(app, ["push", "--set", "AUTH0_DOMAIN", "--config", "prd"],
                      input="other.eu.auth0.com\n")
    assert isinstance(r.exception, ConflictError)
    assert r.exception.exit_code == 2
    assert server.get_secret("app", "prd", "AUTH0_DOMAIN") == "prod.eu.auth0.com"

    r = runner.invoke(app, ["push", "--set", "AUTH0_DOMAIN", "--config", "prd", "--dry-run",
                            "--overwrite"], input="other.eu.auth0.com")
    assert "would overwrite" in r.output
    assert server.get_secret("app", "prd", "AUTH0_DOMAIN") == "prod.eu.auth0.com"

    r = runner.invoke(app, ["push", "--set", "AUTH0_DOMAIN", "--config", "prd", "--overwrite",
                            "--project", "app"], input="other.eu.auth0.com\r\n")
    assert r.exit_code == 0, r.output
    assert server.get_secret("app", "prd", "AUTH0_DOMAIN") == "other.eu.auth0.com"


def test_push_usage_errors(app: typer.Typer, env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOPPLER_TOKEN", "dp.pt.unused")
    runner = CliRunner()
    r = runner.invoke(app, ["push", "--set", "A", "--config", "prd"], input="v")
    assert isinstance(r.exception, UsageError) and "DOPPLER_PROJECT" in str(r.exception)
    r = runner.invoke(app, ["push", "--set", "lower", "--config", "prd", "-p", "app"], input="v")
    assert isinstance(r.exception, UsageError)
    r = runner.invoke(app, ["push", "--set", "A", "--config", "prd", "-p", "app"], input="\n")
    assert isinstance(r.exception, UsageError) and "empty" in str(r.exception)
    # There is no way to pass a token as an argument.
    r = runner.invoke(app, ["push", "--set", "A", "--config", "prd", "--token", "x"], input="v")
    assert r.exit_code == 2 and r.exception is not None
