"""The generic detectors use detect-secrets' plugins without its global settings."""

from __future__ import annotations

import json
import threading

from detect_secrets.settings import get_settings

from secretsync.detection import Context
from secretsync.detectors import load_detectors
from secretsync.detectors._common import run
from secretsync.detectors.generic import GenericDetectors, GenericSettings

PASSWORD = "Vx8qL2mZ9rT4"  # entropy ~3.6 bits/char


def _ids(dets: GenericDetectors, value: str, ctx: Context) -> set[str]:
    return {h.detector for h in run(dets.detectors, value, ctx)}


def test_global_settings_untouched() -> None:
    before = json.dumps(get_settings().json(), sort_keys=True)
    dets = load_detectors(GenericSettings(base64_limit=1.0, disabled=frozenset({"jwt"})))
    for d in dets:
        list(d.find(PASSWORD, Context(key="password")))
        list(d.find("postgres://a:S3cr3tPassw0rd@db/x", Context(key="url")))
        list(d.find("AKIAQ3RZ7XKD4M2N8PLW", Context(key="aws_access_key_id")))
    assert json.dumps(get_settings().json(), sort_keys=True) == before


def test_independent_settings_do_not_interfere() -> None:
    strict = GenericDetectors(GenericSettings(base64_limit=5.0))
    lax = GenericDetectors(GenericSettings(base64_limit=2.0, keywords=("password", "pin")))
    ctx = Context(key="password")
    assert _ids(strict, PASSWORD, ctx) == set()
    assert _ids(lax, PASSWORD, ctx) == {"generic-secret"}
    assert _ids(lax, PASSWORD, Context(key="pin")) == {"generic-secret"}
    assert _ids(strict, PASSWORD, Context(key="pin")) == set()
    # And again after the other was used: no state leaks between instances.
    assert _ids(strict, PASSWORD, ctx) == set()
    assert strict.detectors[-1] is not lax.detectors[-1]


def test_concurrent_scans_with_different_settings() -> None:
    results: dict[str, set[str]] = {}

    def scan(name: str, settings: GenericSettings) -> None:
        dets = GenericDetectors(settings)
        out: set[str] = set()
        for _ in range(300):
            out |= _ids(dets, PASSWORD, Context(key="password"))
        results[name] = out

    threads = [
        threading.Thread(target=scan, args=("strict", GenericSettings(base64_limit=5.0))),
        threading.Thread(target=scan, args=("lax", GenericSettings(base64_limit=2.0))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"strict": set(), "lax": {"generic-secret"}}


def test_disabled_ids_are_not_built() -> None:
    dets = GenericDetectors(GenericSettings(disabled=frozenset({"jwt", "generic-secret"})))
    ids = {d.id for d in dets.detectors}
    assert "jwt" not in ids and "generic-secret" not in ids
    assert "aws-access-key" in ids


def test_skipped_builtins() -> None:
    ids = {d.id for d in GenericDetectors().detectors}
    # Ours is better (telegram.py); public IPs are not secrets.
    assert not any("telegram" in i or i.split("-")[0] == "ip" for i in ids)
    value = "7412365890:AAHk3xQ9vLmN2pR5sT8uW0yZ1bC4dE6fG7h"
    assert {h.detector for h in run(load_detectors(), value, Context(key="x"))} == {
        "telegram-bot-token"
    }
