"""Shared by the security tests: a tree of planted values, canary search, the CLI in-process."""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import os
import secrets
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from secretsync.cli import run_cli
from tests.conftest import build_tree

PROJECT = "canary"
_ALNUM = string.ascii_letters + string.digits


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class Planted:
    """Fresh random values (never seen in any source file) and where they sit in a tree."""

    # Tailscale client ids start with `k`; an `n...CNTRL` is a node id and is rightly not found
    # (a random first letter made ~2% of runs plant a value no one should find).
    client_id: str = field(default_factory=lambda: "k" + _rand(_ALNUM, 11) + "CNTRL")
    tailnet: str = field(default_factory=lambda: "tail" + secrets.token_hex(3))
    account: str = field(default_factory=lambda: secrets.token_hex(16))
    bot_token: str = field(default_factory=lambda: (
        str(secrets.randbelow(9 * 10**9) + 10**9) + ":AA" + _rand(_ALNUM, 33)))
    password: str = field(default_factory=lambda: "Pw-" + _rand(_ALNUM, 21))
    dev_tenant: str = field(default_factory=lambda: f"dev-{_rand(string.ascii_lowercase, 12)}"
                            ".us.auth0.com")

    @property
    def values(self) -> dict[str, str]:
        return {"client_id": self.client_id, "tailnet": self.tailnet, "account": self.account,
                "bot_token": self.bot_token, "password": self.password,
                "dev_tenant": self.dev_tenant}

    def files(self, charts: int = 1) -> dict[str, str | bytes]:
        out: dict[str, str | bytes] = {
            "stores/dev.yaml": _store("dev"),
            "stores/prd.yaml": _store("prd"),
        }
        for i in range(charts):
            out.update({f"chart{i}/{k}": v for k, v in self.chart(f"svc{i}").items()})
        return out

    def chart(self, name: str) -> dict[str, str]:
        return {
            "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n",
            "values.yaml": (
                "global:\n"
                "  tailscale:\n"
                f"    clientId: {self.client_id}  # in git\n"
                f"    tailnet: '{self.tailnet}'\n"
                "  cloudflare:\n"
                f'    accountId: "{self.account}"\n'
                "telegram:\n"
                f"  botToken: {self.bot_token}\n"
                "env:\n"
                "  - name: DB_PASSWORD\n"
                f"    value: {self.password}\n"
                "  - name: AUTH0_DOMAIN\n"
                f"    value: {self.dev_tenant}\n"
            ),
            "values-dev.yaml": "replicaCount: 1\n",
            "values-prd.yaml": "replicaCount: 2\r\n",
            "templates/deploy.yaml": "x: {{ .Values.global.tailscale.clientId }}\n",
        }

    def tree(self, root: Path, charts: int = 1) -> Path:
        return build_tree(root, self.files(charts))


def _store(env: str) -> str:
    return (
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\n"
        f"metadata:\n  name: doppler-{env}\nspec:\n  provider:\n    doppler:\n"
        f"      config: {env}\n      auth:\n        secretRef:\n          dopplerToken:\n"
        "            name: t\n            namespace: es\n"
    )


def encodings(canary: str) -> set[str]:
    """The canary as written, URL-encoded, hex, and base64 (standard and URL-safe) at each of
    the three alignments it can take inside a longer encoded blob."""
    raw = canary.encode()
    forms = {canary, quote(canary, safe=""), quote_plus(canary), raw.hex()}
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            blob = enc(b"\0" * pad + raw).decode().rstrip("=")
            # Drop the characters the padding (and whatever follows) could influence.
            start = {0: 0, 1: 2, 2: 3}[pad]
            stable = blob[start: 4 * ((pad + len(raw)) // 3)]
            if len(stable) >= 8:
                forms.add(stable)
    return forms


def find_canaries(blobs: dict[str, str | bytes], canaries: Iterable[str]) -> list[str]:
    """`where: which form` for every hit of any canary's forms in any blob."""
    hits = []
    for canary in canaries:
        for form in encodings(canary):
            for where, blob in blobs.items():
                text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
                if form in text:
                    hits.append(f"{where}: {canary[:4]}... as {form[:6]}...")
    return hits


class LogCollector(logging.Handler):
    """Every log record at every level, formatted with its arguments."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()} "
                          f"{record.exc_text or ''}")


@contextlib.contextmanager
def all_logs() -> Iterator[LogCollector]:
    root = logging.getLogger()
    handler = LogCollector()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


@dataclass
class Run:
    argv: list[str]
    code: int
    out: str
    err: str


def cli(argv: Sequence[str], stdin: str = "") -> Run:
    """Run the CLI in-process with its own stdin, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = os.sys.stdin  # type: ignore[attr-defined]
    os.sys.stdin = io.StringIO(stdin)  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_cli(list(argv))
    finally:
        os.sys.stdin = old_stdin  # type: ignore[attr-defined]
    return Run(list(argv), code, out.getvalue(), err.getvalue())


def fast_clients(monkeypatch: pytest.MonkeyPatch, *, timeout: float = 0.5,
                 attempts: int = 4) -> None:
    """Every DopplerClient the CLI makes from now on: short timeouts, no real sleeping."""
    import httpx

    from secretsync.doppler import client as client_mod

    real = client_mod.DopplerClient

    class Fast(real):  # type: ignore[misc, valid-type]
        def __init__(self, token: str, **kw: object) -> None:
            kw.setdefault("timeout", httpx.Timeout(timeout))
            kw.setdefault("sleep", lambda s: None)
            kw.setdefault("retry", client_mod.RetryPolicy(attempts=attempts, budget=600))
            super().__init__(token, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(client_mod, "DopplerClient", Fast)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def all_files(*dirs: Path, skip: Callable[[Path], bool] = lambda p: False) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for d in dirs:
        if not d.exists():
            continue
        for p in sorted(d.rglob("*")):
            if p.is_file() and not p.is_symlink() and not skip(p):
                out[str(p)] = p.read_bytes()
    return out
