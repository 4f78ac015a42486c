"""Auth0: tenant domains, application client ids and client secrets.

Usable as a detect-secrets plugin: `detect-secrets scan --plugin detectors/auth0.py FILE`.
No `from __future__ import annotations` in provider modules: detect-secrets loads them by path
without registering them in sys.modules, where dataclasses cannot resolve string annotations.
"""

import re

from secretsync.detection import Context, Detector, Example
from secretsync.detectors._common import (
    Delimited,
    Keywords,
    LinePlugin,
    PatternDetector,
    names,
    path_has,
)

# Auth0's own hosts, not tenants.
_NOT_TENANTS = frozenset({
    "www", "cdn", "manage", "community", "login", "auth0", "support", "marketplace", "status",
    "docs", "blog", "cdn2", "assets", "api", "accounts", "samples", "jwt", "developer",
})
_DOMAIN = re.compile(
    r"(?<![A-Za-z0-9.-])([a-z0-9][a-z0-9-]{0,62})\."
    r"(?:(?:us|eu|au|jp|ca|uk)(?:-[0-9])?\.)?auth0\.com(?![A-Za-z0-9-])"
)


def _tenant_ok(text: str, ctx: Context) -> bool:
    return text.split(".", 1)[0].lower() not in _NOT_TENANTS


DOMAIN = PatternDetector(
    id="auth0-domain",
    description="Auth0 tenant domain (<tenant>[.<region>].auth0.com)",
    prefilter=re.compile(r"auth0\.com"),
    pattern=_DOMAIN,
    accept=_tenant_ok,
)

_CLIENT_ID_KEY = re.compile(r"clientid$")


def _client_id_context(ctx: Context) -> bool:
    return any(_CLIENT_ID_KEY.search(n) for n in names(ctx))


def _mixed(text: str, ctx: Context) -> bool:
    # Auth0 ids are base62: a 32-char lowercase hex string under clientId is some other
    # provider's id (or a hash), not Auth0's.
    return any(c.isupper() for c in text) and any(c.islower() for c in text)


CLIENT_ID = PatternDetector(
    id="auth0-client-id",
    description="Auth0 application client id (32 alphanumerics under a client id key)",
    prefilter=Keywords(("clientid", "client_id", "client-id")),
    requires=(Delimited(r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])"),),
    pattern=re.compile(r"^[A-Za-z0-9]{32}$"),
    needs=_client_id_context,
    accept=_mixed,
)


def _client_secret_context(ctx: Context) -> bool:
    if any(n.endswith("clientsecret") for n in names(ctx)):
        return True
    return path_has(ctx, "auth0") and any(n.endswith("secret") for n in names(ctx))


def _secretish(text: str, ctx: Context) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


CLIENT_SECRET = PatternDetector(
    id="auth0-client-secret",
    description="Auth0 application client secret (64+ of [A-Za-z0-9_-] under a secret key)",
    # `*clientSecret` anywhere, or a `*secret` key on an auth0 path.
    prefilter=Keywords(("clientsecret", "client_secret", "client-secret", "auth0")),
    # Not the hex of an image digest (`sha256:<64 hex>`).
    # A run that is not all hex: checksums and digests (`checksum/secret: <64 hex>`) are.
    requires=(Delimited(r"(?<![A-Za-z0-9_-])(?=[0-9a-fA-F]*[g-zG-Z_-])[A-Za-z0-9_-]{64,}"),),
    pattern=re.compile(r"^[A-Za-z0-9_-]{64,}$"),
    needs=_client_secret_context,
    accept=_secretish,
)

DETECTORS: tuple[Detector, ...] = (DOMAIN, CLIENT_ID, CLIENT_SECRET)


def _c(key: str | None = None, *path: str | int, env: str | None = None) -> Context:
    return Context(key=key, key_path=(*path, key) if key else tuple(path), env_name=env)


_ID = "wsZ3vIm5FlxztPisdo3Jq5BaeJvASZrz"
_SECRET = "Xq3_vB9-kL2mN8pR4sT6uW1yZ0aC5dE7fG9hJ2kL4mN6pQ8rS0tU3vW5xY7zA9bC1dEfGh"
EXAMPLES: tuple[Example, ...] = (
    Example("dev-tgrsoxiakeqdr1gg.us.auth0.com", _c("domain", "global", "auth0"),
            frozenset({"auth0-domain"}), "seed 2.1"),
    Example("dev-tgrsoxiakeqdr1gg.us.auth0.com", _c("value", "env", 0, env="AUTH0_DOMAIN"),
            frozenset({"auth0-domain"}), "seed 2.2"),
    Example("https://acme-prod.eu-2.auth0.com/", _c("issuer"), frozenset({"auth0-domain"}),
            "region with -N, inside a URL"),
    Example("acme.auth0.com", _c("AUTH0_DOMAIN"), frozenset({"auth0-domain"}), "legacy tenant"),
    Example("https://acme.jp.auth0.com/.well-known/jwks.json", _c("jwksUri"),
            frozenset({"auth0-domain"})),
    Example("https://auth0.com/docs/quickstarts", _c("docs"), frozenset(), "docs, no tenant"),
    Example("https://cdn.auth0.com/js/lock/11.0/lock.min.js", _c("script"), frozenset()),
    Example("community.auth0.com", _c("link"), frozenset()),
    Example("login.auth0.com", _c("host"), frozenset()),
    Example("tenant.auth0.company.com", _c("host"), frozenset(), "not auth0.com"),
    Example(_ID, _c("clientId", "global", "auth0"), frozenset({"auth0-client-id"}), "seed 2.1"),
    Example(_ID, _c("value", env="AUTH0_CLIENT_ID"), frozenset({"auth0-client-id"})),
    Example(_ID, _c("client_id"), frozenset({"auth0-client-id"})),
    Example(_ID, _c("audience"), frozenset(), "no client id context"),
    Example("0123456789abcdef0123456789abcdef", _c("clientId"), frozenset(),
            "lowercase hex: not Auth0's base62"),
    Example(_ID + "x", _c("clientId"), frozenset(), "33 characters"),
    Example(_SECRET, _c("clientSecret", "auth0"), frozenset({"auth0-client-secret"})),
    Example(_SECRET, _c("value", env="AUTH0_CLIENT_SECRET"),
            frozenset({"auth0-client-secret"})),
    Example(_SECRET, _c("secret", "auth0"), frozenset({"auth0-client-secret"})),
    Example(_SECRET[:40], _c("clientSecret"), frozenset({"generic-secret"}),
            "too short for Auth0, still a secret"),
    Example(_SECRET, _c("description"), frozenset(), "no secret context"),
    Example(_SECRET, _c("clientSecret", "auth0", "clientSecretRef"), frozenset(),
            "a reference"),
)


class Auth0DomainPlugin(LinePlugin):
    secret_type = "Auth0 tenant domain"
    detector = DOMAIN


class Auth0ClientIdPlugin(LinePlugin):
    secret_type = "Auth0 client id"
    detector = CLIENT_ID


class Auth0ClientSecretPlugin(LinePlugin):
    secret_type = "Auth0 client secret"
    detector = CLIENT_SECRET
