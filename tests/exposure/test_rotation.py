"""Every detector id the scanner knows is classified: a new detector cannot ship unclassified."""

from __future__ import annotations

import pytest

from secretsync.detectors import DETECTOR_IDS, load_detectors
from secretsync.exposure.rotation import ROTATION, Kind, classify, push_command


def test_every_detector_id_is_classified() -> None:
    known = set(DETECTOR_IDS) | {d.id for d in load_detectors()}
    missing = sorted(known - set(ROTATION))
    assert not missing, f"classify these in secretsync/exposure/rotation.py: {missing}"
    assert not sorted(set(ROTATION) - known), "ROTATION names ids no detector has"


@pytest.mark.parametrize(("detector", "words"), [
    ("tailscale-oauth-client-secret", ("OAuth clients", "revoke")),
    ("tailscale-auth-key", ("revoke",)),
    ("telegram-bot-token", ("@BotFather", "/revoke")),
    ("cloudflare-tunnel-token", ("Tunnels", "Rotate token")),
    ("cloudflare-tunnel-credentials", ("TunnelSecret",)),
    ("auth0-client-secret", ("Rotate", "rotate-secret")),
    ("aws-access-key", ("create-access-key", "deactivate")),
    ("private-key", ("new key pair", "revoke")),
    ("generic-secret", ("change the password",)),
    ("password-hash", ("change the password",)),
])
def test_credentials_rotate_with_the_providers_step(detector: str, words: tuple[str, ...]) -> None:
    r = classify(detector)
    assert r.kind is Kind.CREDENTIAL and r.rotate
    for w in words:
        assert w in r.step


@pytest.mark.parametrize("detector", [
    "tailscale-tailnet", "tailscale-oauth-client-id", "auth0-domain", "auth0-client-id",
    "cloudflare-account-id", "cloudflare-tunnel-id", "cloudflare-r2-endpoint", "telegram-chat-id",
])
def test_identifiers_are_noted_not_rotated(detector: str) -> None:
    r = classify(detector)
    assert r.kind is Kind.IDENTIFIER and not r.rotate


def test_an_unknown_id_counts_as_a_credential() -> None:
    assert classify("some-future-detector").rotate


def test_push_command_reads_the_value_from_stdin() -> None:
    assert push_command("TELEGRAM_BOT_TOKEN", "prd", "app") == (
        "secretsync push --set TELEGRAM_BOT_TOKEN --config prd --project app --overwrite")
    assert "--config CONFIG" in push_command("X", None)
