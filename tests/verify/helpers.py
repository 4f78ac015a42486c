"""Shared by the verify tests: run the CLI in-process, copy trees, talk to the embedded server."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from secretsync.testing import DopplerTestServer

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO.parent / "shared" / "schemas"
PROJECT = "gaynance"
DEV_TENANT = "dev-tgrsoxiakeqdr1gg.us.auth0.com"
PROD_TENANT = "prod-k3shome.eu.auth0.com"


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data

    def check(self, check_id: str) -> dict[str, Any]:
        return next(c for c in self.json()["checks"] if c["id"] == check_id)

    def failing(self) -> set[str]:
        return {c["id"] for c in self.json()["checks"] if c["status"] == "fail"}


def cli(argv: list[str], stdin: str | None = None) -> Run:
    from secretsync.cli import run_cli

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_cli(argv)
    finally:
        sys.stdin = old
    return Run(code, out.getvalue(), err.getvalue())


def verify(tree: Path, *args: str) -> Run:
    return cli(["verify", str(tree), "--format", "json", *args])


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def delete_secret(srv: DopplerTestServer, token: str, config: str, name: str) -> None:
    """Through the API, as a person would (the test server has no delete helper)."""
    r = httpx.delete(f"{srv.url}/v3/configs/config/secret",
                     params={"project": PROJECT, "config": config, "name": name},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code in (200, 204), r.status_code
