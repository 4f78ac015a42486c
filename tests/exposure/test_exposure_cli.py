"""`secretsync exposure` end to end: CI exit codes, the JSON contract, SARIF, no value anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from secretsync.cli import run_cli
from secretsync.testing import DopplerTestServer

from ..conftest import SHARED
from .conftest import AWS, CHAT, TAILNET, TOKEN, VALUES, History
from .gitrepo import AUTHOR, EMAIL, Repo


def exposure(*args: str) -> int:
    return run_cli(["exposure", *args])


@pytest.fixture(autouse=True)
def _no_doppler(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DOPPLER_TOKEN", "DOPPLER_PROJECT", "DOPPLER_API_HOST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def report(tmp_path: Path, repo: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    out = tmp_path / "out.json"
    code = exposure(str(repo), "--offline", "--format", "json", "--output", str(out), *args)
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_full_history_json_contract(history: History, tmp_path: Path) -> None:
    code, doc = report(tmp_path, history.repo.root)
    assert code == 1  # credentials are exposed
    assert doc["version"] == 1 and doc["rev_range"] is None
    assert doc["head"] == {"commit": history.c6, "date": history.repo.date(history.c6)}
    secrets = {s["detector"]: s for s in doc["secrets"]}
    token = secrets["telegram-bot-token"]
    assert token["kind"] == "credential" and token["rotate"] is True
    assert "/revoke" in token["rotation_step"] and token["note"] is None
    assert token["push_command"] == ("secretsync push --set TELEGRAM_BOT_TOKEN --config prd "
                                     "--project app --overwrite")
    assert token["first"]["commit"] == history.c1 and token["last"]["commit"] == history.c2
    assert token["in_head"] is False and token["added"] is True
    assert token["doppler"]["name"] == "TELEGRAM_BOT_TOKEN"
    assert token["places"][0]["commit"] == history.c1
    chat = secrets["telegram-chat-id"]
    assert chat["kind"] == "identifier" and chat["rotate"] is False
    assert chat["push_command"] is None and chat["rotation_step"] is None and chat["note"]
    assert chat["in_head"] is True
    assert len(token["fingerprint"]) == 32
    assert doc["stats"]["credentials"] == 2 and doc["stats"]["identifiers"] == 2


def test_ci_range_that_adds_then_removes_a_credential_fails(history: History,
                                                            tmp_path: Path) -> None:
    code, doc = report(tmp_path, history.repo.root, "--rev-range", "main~1..feature")
    assert code == 1
    (aws,) = [s for s in doc["secrets"] if s["detector"] == "aws-access-key"]
    assert aws["added"] is True and aws["in_head"] is False
    assert aws["first"]["commit"] == history.c4


def test_ci_range_with_identifiers_only_passes(history: History, tmp_path: Path) -> None:
    r = history.repo
    r.git("checkout", "-q", "-b", "ids", "main")
    r.commit({"apps/chat.yaml": "telegram:\n  chatId: \"-1009876543210\"\n"}, "an identifier")
    code, doc = report(tmp_path, r.root, "--rev-range", "main..ids")
    assert code == 0
    assert [s["detector"] for s in doc["secrets"]] == ["telegram-chat-id"]


def test_ci_range_touching_a_file_with_an_old_credential_passes(tmp_path: Path) -> None:
    """Editing a file that already held a credential does not add it."""
    r = Repo(tmp_path / "r")
    body = f"telegram:\n  botToken: \"{TOKEN}\"\n"
    r.commit({"a.yaml": body}, "old credential")
    r.git("checkout", "-q", "-b", "pr")
    r.commit({"a.yaml": body + "replicas: 2\n"}, "unrelated edit")
    code, doc = report(tmp_path, r.root, "--rev-range", "main..pr")
    assert code == 0
    assert [(s["detector"], s["added"]) for s in doc["secrets"]] == [("telegram-bot-token", False)]


def test_ci_range_with_nothing_passes(history: History, tmp_path: Path) -> None:
    code, doc = report(tmp_path, history.repo.root, "--rev-range", "main..main")
    assert code == 0 and doc["secrets"] == []


def test_usage_errors_exit_2(history: History, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert exposure(str(plain), "--offline") == 2
    assert "not in a git repository" in capsys.readouterr().err
    assert exposure(str(history.repo.root), "--offline", "--rev-range", "main..nosuch") == 2
    assert exposure(str(history.repo.root), "--offline", "--rev-range", "main") == 2
    assert exposure(str(tmp_path / "missing"), "--offline") == 2


def test_no_value_and_no_author_in_any_format(history: History, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads((SHARED / "schemas" / "sarif-schema-2.1.0.json").read_text())
    root = history.repo.root
    texts = []
    for fmt in ("table", "json", "sarif"):
        out = tmp_path / f"out.{fmt}"
        assert exposure(str(root), "--offline", "--format", fmt, "--output", str(out)) == 1
        texts.append(out.read_text())
        assert exposure(str(root), "--offline", "--format", fmt) == 1
        captured = capsys.readouterr()
        texts += [captured.out, captured.err]
    sarif = json.loads(texts[6])
    jsonschema.validate(sarif, schema)
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"telegram-bot-token", "telegram-chat-id",
                                               "tailscale-tailnet", "aws-access-key"}
    assert {r["level"] for r in results if r["ruleId"] == "telegram-chat-id"} == {"note"}
    assert all(r["partialFingerprints"]["secretsync-exposure/v1"] for r in results)
    assert "TELEGRAM_BOT_TOKEN" in texts[0]
    for text in texts:
        for secret in (*VALUES, AUTHOR, EMAIL):
            assert secret not in text
        # Not even the digits of the chat id or the middle of the token.
        assert CHAT[1:] not in text and TOKEN[7:] not in text
    assert AWS[4:] not in "".join(texts) and TAILNET[4:] not in "".join(texts)


def test_doppler_names_the_value_it_holds_read_only(history: History, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with DopplerTestServer() as srv:
        srv.add_project("app")
        srv.set_secret("app", "prd", "TELEGRAM_BOT_TOKEN", "rotated-already-0123456789")
        srv.set_secret("app", "prd", "ALERT_CHAT", CHAT)
        monkeypatch.setenv("DOPPLER_API_HOST", srv.url)
        monkeypatch.setenv("DOPPLER_TOKEN", srv.issue_token("personal", write=False))
        monkeypatch.setenv("DOPPLER_PROJECT", "app")
        out = tmp_path / "out.json"
        code = exposure(str(history.repo.root), "--format", "json", "--output", str(out))
        assert srv.secrets("app", "prd")["ALERT_CHAT"] == CHAT  # read only: nothing changed
    assert code == 1
    secrets = {s["detector"]: s for s in json.loads(out.read_text())["secrets"]}
    assert secrets["telegram-chat-id"]["doppler"] == {
        "name": "ALERT_CHAT", "project": "app", "config": "prd", "source": "doppler",
        "holds_this_value": True}
    # The reference names TELEGRAM_BOT_TOKEN, which holds another value now: rotated.
    token = secrets["telegram-bot-token"]["doppler"]
    assert token["name"] == "TELEGRAM_BOT_TOKEN" and token["holds_this_value"] is False
    assert CHAT not in out.read_text()


def test_without_a_token_doppler_is_skipped_with_a_warning(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOPPLER_PROJECT", "app")
    out = tmp_path / "out.json"
    assert exposure(str(history.repo.root), "--format", "json", "--output", str(out)) == 1
    assert "Doppler not asked" in capsys.readouterr().err
    assert json.loads(out.read_text())["secrets"]
