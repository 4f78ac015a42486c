"""Faults against the embedded Doppler during `secretsync apply`, end to end through the CLI.

For each fault: the first run either finishes or stops with a message naming the cause; the tree
is then either exactly as it was or exactly as a clean run leaves it (never half-written, no temp
file left); a re-run without the fault converges: the tree equals a clean run's, Doppler holds
exactly the values of a clean run (each once, under one name), and no value already applied was
written a second time.

Client-level fault semantics (which requests are retried, read-back after an unanswered write) are
proved in tests/doppler/test_doppler_push.py; this file proves what the user sees.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from secretsync.testing import DopplerTestServer

from .helpers import PROJECT, Planted, cli, fast_clients, tree_bytes

TIMEOUT = 0.4
CONFIGS = ("dev", "prd", "stg")


@dataclass
class Reference:
    planted: Planted
    before: dict[str, bytes]
    after: dict[str, bytes]
    secrets: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """A clean apply of the planted tree: what every faulty run must converge to."""
    planted = Planted()
    root = planted.tree(tmp_path_factory.mktemp("ref") / "tree", charts=2)
    before = tree_bytes(root)
    with DopplerTestServer() as srv, pytest.MonkeyPatch.context() as mp:
        srv.add_project(PROJECT)
        mp.setenv("DOPPLER_API_HOST", srv.url)
        mp.setenv("DOPPLER_TOKEN", srv.issue_token())
        r = cli(["apply", str(root), "--project", PROJECT])
        assert r.code == 0, r.err
        secrets = {c: srv.secrets(PROJECT, c) for c in CONFIGS}
    assert secrets["prd"] and secrets["dev"]
    return Reference(planted, before, tree_bytes(root), secrets)


class Recording(DopplerTestServer):
    """Records the names of every write Doppler applied (whatever the client then heard)."""

    def __init__(self) -> None:
        super().__init__()
        self.applied: Counter[str] = Counter()

    def handle(self, method: str, path: str, q: dict[str, str], token: Any, body: Any,
               headers: Any) -> tuple[int, Any, dict[str, str]]:
        result = super().handle(method, path, q, token, body, headers)
        if method == "POST" and result[0] == 200 and isinstance(body, dict):
            self.applied.update(str(c.get("name")) for c in body.get("change_requests", []))
        return result


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recording]:
    with Recording() as srv:
        srv.add_project(PROJECT)
        monkeypatch.setenv("DOPPLER_API_HOST", srv.url)
        monkeypatch.setenv("DOPPLER_TOKEN", srv.issue_token())
        fast_clients(monkeypatch, timeout=TIMEOUT, attempts=4)
        yield srv


def _hook_writes(srv: DopplerTestServer, before: Callable[[int], None] | None = None,
                 after: Callable[[int], None] | None = None) -> None:
    """Run `before`/`after` around the n-th write (POST) the server handles."""
    real = srv.handle
    assert "handle" not in vars(srv)
    n = [0]
    lock = threading.Lock()

    def handle(method: str, path: str, q: dict[str, str], token: Any, body: Any,
               headers: Any) -> tuple[int, Any, dict[str, str]]:
        k = -1
        if method == "POST":
            with lock:
                n[0] += 1
                k = n[0]
            if before:
                before(k)
        result = real(method, path, q, token, body, headers)
        if k > 0 and after:
            after(k)
        return result

    srv.handle = handle  # type: ignore[method-assign]


def revoke_after_first_write(srv: DopplerTestServer) -> None:
    token = os.environ["DOPPLER_TOKEN"]
    _hook_writes(srv, after=lambda k: srv.revoke_token(token) if k == 1 else None)


def slow_after_write(srv: DopplerTestServer) -> None:
    # The write is applied, then the answer comes too late: the client must find out by reading.
    _hook_writes(srv, after=lambda k: time.sleep(TIMEOUT * 2.5) if k == 1 else None)


def slow_before_write(srv: DopplerTestServer) -> None:
    # The write is applied only after the client gave up waiting (and may have re-sent it).
    _hook_writes(srv, before=lambda k: time.sleep(TIMEOUT * 2.5) if k == 1 else None)


def drop_then_fail_reads(srv: DopplerTestServer) -> None:
    # The first write applies, its connection drops, and Doppler then fails every read.
    def after(k: int) -> None:
        if k == 1:
            srv.faults.fail(1000, methods=("GET",))

    srv.faults.drop_connection_after_write(1)
    _hook_writes(srv, after=after)


Fault = Callable[[DopplerTestServer], None]
FAULTS: dict[str, tuple[Fault, str | None]] = {
    # name: (set-up, None when apply must recover by itself, else words the error must say)
    "429-burst": (lambda s: s.faults.rate_limit(3, retry_after=1), None),
    "429-storm": (lambda s: s.faults.rate_limit(10_000, retry_after=1), "rate limit"),
    "500-burst": (lambda s: s.faults.fail(3), None),
    "500-storm": (lambda s: s.faults.fail(10_000), "answered 500"),
    "500-on-writes": (lambda s: s.faults.fail(10_000, methods=("POST",)), "answered 500"),
    "500-after-write-applied": (lambda s: s.faults.error_after_write(2), None),
    "slow-reads-once": (lambda s: s.faults.slow(TIMEOUT * 2.5, count=2), None),
    "slow-storm": (lambda s: s.faults.slow(TIMEOUT * 2.5, count=10_000), "timed out"),
    "slow-after-write-applied": (slow_after_write, None),
    "slow-write-applied-late": (slow_before_write, None),
    "dropped-after-write-applied": (lambda s: s.faults.drop_connection_after_write(2), None),
    "dropped-after-write-then-500s": (drop_then_fail_reads, "answered 500"),
    "token-revoked-halfway": (revoke_after_first_write, "invalid, expired or revoked"),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_then_rerun_converges(name: str, reference: Reference, server: Recording,
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup, says = FAULTS[name]
    root = reference.planted.tree(tmp_path / "tree", charts=2)
    assert tree_bytes(root) == reference.before
    setup(server)
    first = cli(["apply", str(root), "--project", PROJECT])
    server.faults.clear()
    vars(server).pop("handle", None)  # the hooks wrap it on the instance
    state = tree_bytes(root)
    # Never half-written: the whole tree is as before or as a clean run leaves it.
    assert state in (reference.before, reference.after), name
    if says is None:
        assert first.code == 0, (name, first.err)
        assert state == reference.after
        assert "applied:" in first.out
    else:
        assert first.code == 2, (name, first.code, first.err)
        assert state == reference.before
        assert first.err.startswith("error: ") and says in first.err, first.err
        assert "hint:" in first.err
        if server.applied:  # failed after Doppler accepted a write: say where things stand
            assert "apply stopped before changing any file" in first.err, first.err
        # A revoked token is fixed by a new one.
        monkeypatch.setenv("DOPPLER_TOKEN", server.issue_token())
    second = cli(["apply", str(root), "--project", PROJECT])
    assert second.code == 0, (name, second.err)
    assert tree_bytes(root) == reference.after
    if says is None:
        assert "nothing to do" in second.out
    for config in CONFIGS:
        held = server.secrets(PROJECT, config)
        assert held == reference.secrets[config], (name, config)
        assert sorted(Counter(held.values()).values()) == sorted(
            Counter(reference.secrets[config].values()).values())
    posted = server.applied
    names = {n for c in CONFIGS for n in reference.secrets[c]}
    assert set(posted) == names
    # Each name was applied once per config it lives in: nothing applied was sent again,
    # except by a write whose first copy had not yet been applied when it was re-sent.
    per_name = Counter(n for c in CONFIGS for n in reference.secrets[c])
    extra = posted - per_name
    if name != "slow-write-applied-late":
        assert not extra, (name, extra)
    assert not [p for p in root.rglob("*") if ".secretsync" in p.name and p.is_file()
                and p.name != ".secretsync.yaml"]
