"""secretsync's detectors: one module per provider, loaded only from this package.

The registry is explicit (no discovery from paths or entry points) so that what runs is what
was reviewed. Each provider module exports `DETECTORS` and `EXAMPLES`, plus detect-secrets plugin
classes so it also works as `detect-secrets scan --plugin detectors/<name>.py`.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types

from secretsync.detection import Detector


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is asked for, then imports it and
    answers from it (importlib's LazyLoader does not help here: on Python 3.11 the `import`
    statement itself reads the module's attributes)."""

    def __getattr__(self, attr: str) -> object:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attr)


def _defer_requests() -> None:
    """detect-secrets imports `requests` at its top for verifying secrets online, which
    secretsync never asks it to do; importing it (and urllib3, ssl, http.cookiejar...) was a
    quarter of a scan's start-up. Its import is deferred to its first use."""
    if "requests" in sys.modules:
        return
    spec = importlib.util.find_spec("requests")
    if spec is None:
        return
    stub = _Deferred("requests")
    stub.__spec__ = spec
    sys.modules["requests"] = stub


class _DeferredInit(types.ModuleType):
    """A package whose own `__init__` has not run yet: its submodules import as usual, and
    the first name asked of the package itself runs `__init__` (once) and is answered."""

    def __getattr__(self, attr: str) -> object:
        spec = self.__spec__
        object.__setattr__(self, "__class__", types.ModuleType)  # runs once
        if spec is not None and spec.loader is not None:
            spec.loader.exec_module(self)
        return getattr(self, attr)


def _defer_detect_secrets_init() -> None:
    """`detect_secrets/__init__.py` imports its whole scanning core (SecretsCollection, the
    filters, multiprocessing, logging), a tenth of a scan's start-up, none of which the
    plugin modules secretsync uses need. The package's `__init__` runs on first use of a
    name it defines (`from detect_secrets import SecretsCollection` still works)."""
    if "detect_secrets" in sys.modules:
        return
    spec = importlib.util.find_spec("detect_secrets")
    if spec is None or spec.submodule_search_locations is None:
        return
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _DeferredInit
    sys.modules["detect_secrets"] = module


_defer_requests()
_defer_detect_secrets_init()

PROVIDERS = ("tailscale", "auth0", "cloudflare", "telegram", "talos", "s3", "generic")

ENV_LEAK_ID = "env-leak"
"""Reported by the scanner (not a detector): a dev value that production inherits."""


def load_detectors(generic_settings: object | None = None) -> tuple[Detector, ...]:
    """Every detector, in provider order. The generic detectors (detect-secrets built-ins) are
    constructed anew on each call, with `generic_settings` (a `generic.GenericSettings`) or the
    defaults, so two scans never share plugin state or detect-secrets' global settings."""
    from secretsync.detectors import generic

    if generic_settings is None:
        generic_settings = generic.GenericSettings()
    if not isinstance(generic_settings, generic.GenericSettings):
        raise TypeError("generic_settings must be a GenericSettings")
    out: list[Detector] = []
    for name in PROVIDERS:
        if name != "generic":
            module = importlib.import_module(f"secretsync.detectors.{name}")
            out.extend(module.DETECTORS)
    out.extend(generic.GenericDetectors(generic_settings, specific=tuple(out)).detectors)
    return tuple(out)


def _all_ids() -> frozenset[str]:
    from secretsync.detectors import generic

    ids = {ENV_LEAK_ID, *generic.GENERIC_IDS}
    for name in PROVIDERS:
        if name != "generic":
            module = importlib.import_module(f"secretsync.detectors.{name}")
            ids.update(d.id for d in module.DETECTORS)
    return frozenset(ids)


DETECTOR_IDS: frozenset[str] = _all_ids()

# Environment words as a hostname label or a `-`/`_`-separated part of one: `dev-tenant`,
# `api-staging.example.com`, `db.test.internal`. Not `devices` or `contest`.
_DEV_WORDS = frozenset({"dev", "development", "staging", "stage", "stg", "test", "testing", "qa",
                        "sandbox", "uat"})
_LABEL_SPLIT = re.compile(r"[./:@?#=&]+")
_PART_SPLIT = re.compile(r"[-_]+")
# Ids and keys carry no environment in their text, whatever their random letters spell.
_OPAQUE = frozenset({
    "tailscale-oauth-client-id", "auth0-client-id", "auth0-client-secret",
    "cloudflare-account-id", "cloudflare-tunnel-id", "cloudflare-tunnel-token",
    "cloudflare-tunnel-credentials", "cloudflare-r2-endpoint", "cloudflare-api-token",
    "telegram-bot-token", "telegram-chat-id", "tailscale-api-key", "tailscale-auth-key",
    "tailscale-oauth-client-secret", "tailscale-scim-key", "tailscale-webhook-key",
})


def is_dev_value(detector_id: str, value: str) -> bool:
    """True when the value itself says it belongs to a non-production environment.

    The scanner's env-leak check uses this: a dev Auth0 tenant (`dev-xxx.us.auth0.com`) in a
    base file that production inherits is the seed audit's finding 2.2.
    """
    if detector_id in _OPAQUE:
        return False
    for label in _LABEL_SPLIT.split(value.lower()):
        if label in _DEV_WORDS:
            return True
        if any(part in _DEV_WORDS for part in _PART_SPLIT.split(label)):
            return True
    return False
