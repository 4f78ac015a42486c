"""Canaries: one run drives every command, in every output format, with --verbose, through every
error path it can reach, with planted values and a planted token; then stdout, stderr, logs, plan
files, baselines, SARIF, reports, generated manifests and leftover temp files are searched for
them, as written and base64-, URL- and hex-encoded. Zero hits.

Complements tests/doppler/test_doppler_canary.py (the client's exceptions and reprs) and the
per-command checks in tests/test_scan_cli.py and tests/remediate/test_examples.py.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from secretsync.cli import app
from secretsync.testing import DopplerTestServer

from .helpers import PROJECT, Planted, Run, all_files, all_logs, cli, fast_clients, find_canaries


def test_encodings_cover_what_they_claim() -> None:
    import base64
    from urllib.parse import quote

    value = "canary/+value=9"
    for blob in (base64.b64encode(b"x" + value.encode() + b"y").decode(),
                 base64.urlsafe_b64encode(b"xy" + value.encode()).decode(),
                 "k=" + quote(value, safe=""), value.encode().hex()):
        assert find_canaries({"b": blob}, [value]), blob
    assert not find_canaries({"b": base64.b64encode(b"other").decode()}, [value])


@pytest.fixture
def server() -> Iterator[DopplerTestServer]:
    with DopplerTestServer() as srv:
        srv.add_project(PROJECT)
        yield srv


def _commit(repo: Path, message: str) -> None:
    git = ["git", "-C", str(repo), "-c", "user.name=canary", "-c", "user.email=c@example.invalid"]
    if not (repo / ".git").exists():
        subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)


def _interrupt_nth_replace(monkeypatch: pytest.MonkeyPatch, n: int,
                           exc: BaseException) -> None:
    real = os.replace
    calls = [0]

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls[0] += 1
        if calls[0] == n:
            raise exc
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_no_value_or_token_anywhere(tmp_path: Path, server: DopplerTestServer,
                                    monkeypatch: pytest.MonkeyPatch,
                                    request: pytest.FixtureRequest) -> None:
    planted = Planted()
    prod_tenant = f"prod-{secrets.token_hex(6)}.eu.auth0.com"  # only ever on stdin
    token = server.issue_token("personal")
    bad_token = "dp.pt." + secrets.token_hex(24)  # planted, never valid
    canaries = [*planted.values.values(), prod_tenant, token, bad_token]

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("DOPPLER_API_HOST", server.url)
    monkeypatch.setenv("DOPPLER_TOKEN", token)
    monkeypatch.delenv("DOPPLER_PROJECT", raising=False)
    # Never the developer's real keyring: a backend that always fails is an error path too.
    # Set the backend itself: keyring reads PYTHON_KEYRING_BACKEND only on first use, and an
    # earlier test in the same process may have initialised it already.
    import keyring
    from keyring.backends import fail

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous_keyring = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    request.addfinalizer(lambda: keyring.set_keyring(previous_keyring))
    fast_clients(monkeypatch, attempts=2)

    root = planted.tree(tmp_path / "tree", charts=2)
    (root / "chart0/broken.yaml").write_text(
        f"a: [\n  clientId: {planted.client_id}\n  tailnet: {planted.tailnet}\n")
    original = set(all_files(root))
    out = tmp_path / "out"
    out.mkdir()
    runs: list[Run] = []
    driven: set[str] = set()

    def run(*argv: str, stdin: str = "", expect: int | tuple[int, ...] | None = None) -> Run:
        r = cli(["--verbose", *argv], stdin)
        runs.append(r)
        driven.update(a for a in argv[:2] if not a.startswith("-"))
        if expect is not None:
            want = expect if isinstance(expect, tuple) else (expect,)
            assert r.code in want, (argv, r.code, r.err[-500:])
        return r

    with all_logs() as logs:
        run("--help", expect=0)
        cli(["--version"])
        t = str(root)
        # scan: every format, to stdout and to files, baselines, and bad input.
        for fmt in ("table", "json", "sarif"):
            run("scan", "--no-progress", "-f", fmt, t, expect=1)
            run("scan", "--no-progress", "-f", fmt, "-o", str(out / f"scan.{fmt}"), t, expect=1)
        bl = out / "baseline.json"
        run("scan", "--no-progress", "--baseline", str(bl), "--update-baseline", t, expect=0)
        run("scan", "--no-progress", "-f", "sarif", "--baseline", str(bl), t, expect=0)
        (out / "bad-baseline.json").write_text('{"version": 1, "kdf": {"salt": "zz"}}')
        run("scan", "--no-progress", "--baseline", str(out / "bad-baseline.json"), t, expect=2)
        run("scan", "--no-progress", "-f", "xml", t, expect=2)
        run("scan", "--no-progress", str(root / "missing"), expect=2)
        # exposure reads the values from git history: the tree as planted is commit 1.
        hist = tmp_path / "hist"
        shutil.copytree(root, hist)
        _commit(hist, "planted")
        run("exposure", str(tmp_path / "missing"), expect=2)
        # init and plan, offline and online, with a bad token and a failing Doppler.
        run("init", t, "--project", PROJECT, expect=0)
        run("init", t, expect=2)
        run("plan", t, "--offline", "-o", str(out / "plan-offline.json"), expect=0)
        run("plan", t, "-o", str(out / "plan.json"), expect=0)
        monkeypatch.setenv("DOPPLER_TOKEN", bad_token)
        run("plan", t, expect=2)
        run("apply", t, expect=2)
        run("push", "--set", "AUTH0_DOMAIN", "-c", "prd", "-p", PROJECT, stdin=prod_tenant,
            expect=2)
        run("auth", "status", expect=2)
        run("auth", "login", stdin=bad_token, expect=2)
        monkeypatch.setenv("DOPPLER_TOKEN", token)
        server.faults.fail(50)
        run("plan", t, expect=2)
        run("apply", t, expect=2)
        run("push", "--set", "AUTH0_DOMAIN", "-c", "prd", "-p", PROJECT, stdin=prod_tenant,
            expect=2)
        server.faults.clear()
        # apply: dry run, then writes interrupted (Ctrl-C, disk full) and restored.
        run("apply", t, "--dry-run", expect=0)
        run("rewrite", t, "--dry-run", "--offline", expect=0)
        with monkeypatch.context() as m:
            _interrupt_nth_replace(m, 2, KeyboardInterrupt())
            assert "interrupted" in run("apply", t, expect=130).err
        with monkeypatch.context() as m:
            _interrupt_nth_replace(m, 3, OSError(errno.ENOSPC, "No space left on device"))
            r = run("apply", t, expect=2)
            assert "No space left on device" in r.err and "every file was restored" in r.err
        assert set(all_files(root)) - original == {str(root / ".secretsync.yaml")}
        # A saved plan refused after the tree changed, then the real thing.
        (root / "chart1/values-dev.yaml").write_text("replicaCount: 3\n")
        run("apply", t, "--plan", str(out / "plan.json"), expect=2)
        applied = run("apply", t, expect=0)
        assert "applied:" in applied.out, (applied.out, applied.err)
        run("apply", t, expect=0)
        run("rewrite", t, expect=0)
        # push: dry run, real, unchanged, conflict, and an empty value.
        push = ("push", "--set", "AUTH0_DOMAIN", "-c", "prd", "-p", PROJECT)
        run(*push, "--dry-run", stdin=prod_tenant + "\n", expect=0)
        run(*push, stdin=prod_tenant + "\n", expect=0)
        run(*push, stdin=prod_tenant, expect=0)
        run(*push, stdin=planted.dev_tenant, expect=2)
        run(*push, stdin="", expect=2)
        run("auth", "status", expect=0)
        run("auth", "login", stdin=token, expect=2)  # valid, but no keyring to store it in
        run("auth", "logout", expect=2)
        # The re-scan after apply, and verify once it exists, in every format.
        for fmt in ("table", "json", "sarif"):
            run("scan", "--no-progress", "-f", fmt, t, expect=(0, 1))
        for fmt in ("table", "json", "sarif"):
            run("verify", t, "--format", fmt, "-o", str(out / f"verify.{fmt}"))
            run("verify", t, "--format", fmt)
        # Commit 2 is the tree after apply (references, .secretsync.yaml): exposure names the
        # values from the references and from Doppler, which holds them now.
        shutil.copytree(root, hist, dirs_exist_ok=True)
        _commit(hist, "moved to Doppler")
        for fmt in ("table", "json", "sarif"):
            run("exposure", str(hist), "--format", fmt, "-o", str(out / f"exposure.{fmt}"),
                expect=1)
            run("exposure", str(hist), "--format", fmt, expect=1)
        run("exposure", str(hist), "--rev-range", "HEAD~1..HEAD", "--offline", expect=(0, 1))
        log_text = "\n".join(logs.lines)

    # Every command the CLI has was driven.
    registered = {c.name or (c.callback.__name__ if c.callback else "") for c in
                  app.registered_commands} | {g.name or "" for g in app.registered_groups}
    assert registered <= driven, registered - driven
    # The values reached Doppler: the canary run did real work.
    held = {v for c in ("dev", "prd", "stg") for v in server.secrets(PROJECT, c).values()}
    assert planted.client_id in held and planted.password in held
    assert server.get_secret(PROJECT, "prd", "AUTH0_DOMAIN") == prod_tenant

    blobs: dict[str, str | bytes] = {}
    for i, r in enumerate(runs):
        blobs[f"stdout of {r.argv}#{i}"] = r.out
        blobs[f"stderr of {r.argv}#{i}"] = r.err
    blobs["logs"] = log_text
    blobs["server log"] = repr(server.request_log)
    blobs.update(all_files(out, tmp))  # reports, plans, baselines, SARIF, temp files
    new_in_tree = {k: v for k, v in all_files(root).items() if k not in original}
    blobs.update(new_in_tree)  # .secretsync.yaml, generated ExternalSecrets
    assert any("ExternalSecret" in str(v) for v in new_in_tree.values())
    assert len(blobs) > 100
    hits = find_canaries(blobs, canaries)
    assert hits == [], hits[:10]
    # No temp file was left behind in the tree either.
    assert not [p for p in root.rglob("*") if p.name.endswith((".secretsync", ".tmp"))
                or ".tmp" in p.name]
