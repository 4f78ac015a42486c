"""Cloudflare: account ids, tunnel ids, tokens and credentials, R2 endpoints, API tokens.

Usable as a detect-secrets plugin: `detect-secrets scan --plugin detectors/cloudflare.py FILE`.
No `from __future__ import annotations` in provider modules: detect-secrets loads them by path
without registering them in sys.modules, where dataclasses cannot resolve string annotations.
"""

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from secretsync.detection import Context, Detector, Example, Hit, Searcher
from secretsync.detectors._common import (
    AnyOf,
    Delimited,
    Keywords,
    LinePlugin,
    PatternDetector,
    is_reference,
    names,
    parent,
    path_has,
)

_ACCOUNT_KEYS = frozenset({
    "accountid", "accounttag", "cloudflareaccountid", "cfaccountid", "cfaccounttag",
    "r2accountid", "account", "tunnelaccount", "cfaccount", "cloudflareaccount",
    "cftunnelaccount", "tunnelaccounttag",
})


def _account_context(ctx: Context) -> bool:
    ns = names(ctx)
    if any(n in _ACCOUNT_KEYS or n.endswith("accountid") for n in ns):
        # A bare `account:` key is too vague outside a Cloudflare block.
        return "account" not in ns or path_has(ctx, "cloudflare") or path_has(ctx, "r2")
    return parent(ctx) == "account" and ctx.key_lower == "id" and path_has(ctx, "cloudflare")


ACCOUNT_ID = PatternDetector(
    id="cloudflare-account-id",
    description="Cloudflare account id (32 lowercase hex under an account id key)",
    # An account id/tag key, or a bare `account:` inside a cloudflare or r2 block.
    prefilter=Keywords(("accountid", "account_id", "account-id", "accounttag", "account_tag",
                        "account-tag", "cloudflare", "r2", "tunnel_account", "cf_account")),
    requires=(Delimited(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])"),),
    pattern=re.compile(r"^[0-9a-f]{32}$"),
    needs=_account_context,
)

_TUNNEL_WORDS = Keywords(("tunnel", "credentials-file"))
_TUNNEL_SECRET_WORDS = Keywords(("tunnelsecret", "tunnel_secret", "tunnel-secret"))
_API_TOKEN_WORDS = Keywords(("cfk_", "cfut_", "cfat_", "token", "cloudflare"))
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID_WHOLE = re.compile(rf"^{_UUID}$")
_UUID_ANY = re.compile(rf"(?<![0-9A-Za-z-]){_UUID}(?![0-9A-Za-z-])")
# The DNS target of a tunnel route carries the tunnel id with no key needed.
_CFARGO = re.compile(rf"(?<![0-9A-Za-z-])({_UUID})\.cfargotunnel\.com")


@dataclass(frozen=True, slots=True)
class TunnelIdDetector:
    id: str = "cloudflare-tunnel-id"
    description: str = "Cloudflare tunnel id (a UUID under a tunnel key or in a cloudflared config)"
    prefilter: Searcher = _TUNNEL_WORDS
    requires: tuple[Searcher, ...] = (Delimited(_UUID_ANY.pattern),)

    def find(self, value: str, ctx: Context) -> Iterable[Hit]:
        if "cfargotunnel" in value:
            return [Hit(self.id, m.start(1), m.end(1)) for m in _CFARGO.finditer(value)]
        if len(value) < 36 or "-" not in value:
            return ()
        key = ctx.key_lower
        if key in ("uid", "id") and parent(ctx) != "tunnel":
            # Kubernetes and Grafana uids are UUIDs too.
            return ()
        if is_reference(ctx):
            return ()
        ns = names(ctx)
        tunnel_key = any("tunnel" in n for n in ns) or (key == "id" and parent(ctx) == "tunnel")
        if tunnel_key and _UUID_WHOLE.match(value):
            return (Hit(self.id, 0, len(value)),)
        # cloudflared names the credentials file after the tunnel: /etc/cloudflared/<id>.json.
        if "credentialsfile" in ns or (ctx.embedded == "cloudflared" and tunnel_key):
            return [Hit(self.id, m.start(), m.end()) for m in _UUID_ANY.finditer(value)]
        return ()


TUNNEL_ID = TunnelIdDetector()


def _b64json(text: str) -> object:
    pad = "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + pad, validate=True)
        return json.loads(raw)
    except (binascii.Error, ValueError):
        return None


def _is_tunnel_token(text: str, ctx: Context) -> bool:
    doc = _b64json(text)
    return isinstance(doc, dict) and "a" in doc and ("t" in doc or "s" in doc)


TUNNEL_TOKEN = PatternDetector(
    id="cloudflare-tunnel-token",
    description="Cloudflare tunnel token (base64 JSON of account tag, tunnel id and secret)",
    prefilter=re.compile(r"eyJhIjoi"),
    pattern=re.compile(r"(?<![A-Za-z0-9+/=_-])eyJhIjoi[A-Za-z0-9+/_-]{20,}={0,2}"),
    accept=_is_tunnel_token,
    quick="eyJhIjoi",
)

_CRED_SECRET = re.compile(r'"TunnelSecret"\s*:\s*"[^"]+"')
_CRED_DOC = re.compile(r'\{[^{}]*"TunnelSecret"[^{}]*\}')


@dataclass(frozen=True, slots=True)
class TunnelCredentialsDetector:
    """A tunnel's credentials file (`{"AccountTag":..,"TunnelSecret":..,"TunnelID":..}`).

    When the file's JSON was parsed (the scanner looks into block scalars), the secret is the
    `TunnelSecret` value and the tag and id are hit by their own detectors. When the document is
    one opaque string, the whole JSON object is the hit: cloudflared reads it as one file, so it
    moves to the secrets manager as one value, and nested hits would overlap.
    """

    id: str = "cloudflare-tunnel-credentials"
    description: str = "Cloudflare tunnel credentials (TunnelSecret / credentials JSON)"
    prefilter: Searcher = _TUNNEL_SECRET_WORDS

    def find(self, value: str, ctx: Context) -> Iterable[Hit]:
        if "TunnelSecret" in value:
            return [Hit(self.id, m.start(), m.end()) for m in _CRED_DOC.finditer(value)
                    if _CRED_SECRET.search(m.group())]
        ns = names(ctx)
        if (
            any(n.endswith("tunnelsecret") for n in ns)
            and not is_reference(ctx)
            and len(value) >= 32
            and re.fullmatch(r"[A-Za-z0-9+/=_-]+", value)
        ):
            return (Hit(self.id, 0, len(value)),)
        return ()


TUNNEL_CREDENTIALS = TunnelCredentialsDetector()

R2_ENDPOINT = PatternDetector(
    id="cloudflare-r2-endpoint",
    description="Cloudflare R2 S3 endpoint (embeds the account id)",
    prefilter=re.compile(r"\.r2\.cloudflarestorage\.com"),
    pattern=re.compile(
        r"(?:https?://)?(?<![A-Za-z0-9-])[0-9a-f]{32}(?:\.(?:eu|fedramp|us))?"
        r"\.r2\.cloudflarestorage\.com(?![A-Za-z0-9-])"
    ),
    quick=".r2.cloudflarestorage.com",
)


_TOKEN_KEYS = ("apitoken", "cftoken", "cloudflaretoken", "dnstoken", "tunneltoken")


def _api_token_context(ctx: Context) -> bool:
    ns = names(ctx)
    if any(n.endswith(_TOKEN_KEYS) for n in ns):
        return True
    return path_has(ctx, "cloudflare") and any(n.endswith(("token", "apikey")) for n in ns)


_NEW_TOKEN = re.compile(r"(?<![A-Za-z0-9_])cf(?:k|ut|at)_[A-Za-z0-9]{40}[0-9a-f]{8}(?![A-Za-z0-9])")
_LEGACY_TOKEN = re.compile(r"^[A-Za-z0-9_-]{40}$")


@dataclass(frozen=True, slots=True)
class ApiTokenDetector:
    id: str = "cloudflare-api-token"
    description: str = "Cloudflare API token (cfk_/cfut_/cfat_, or a 40-char token in context)"
    # A new-format token's prefix, or a legacy token's key (`_TOKEN_KEYS`, or a token under
    # a cloudflare key) and a 40-character run that is not all hex (a commit SHA is).
    prefilter: Searcher = _API_TOKEN_WORDS
    requires: tuple[Searcher, ...] = (AnyOf((
        re.compile(r"cfk_|cfut_|cfat_"),
        Delimited(r"(?<![A-Za-z0-9_-])(?=[0-9a-fA-F]*[g-zG-Z_-])[A-Za-z0-9_-]{40}"
                  r"(?![A-Za-z0-9_-])"),
    )),)

    def find(self, value: str, ctx: Context) -> Iterable[Hit]:
        if "cf" in value and "_" in value:
            hits = [Hit(self.id, m.start(), m.end()) for m in _NEW_TOKEN.finditer(value)]
            if hits:
                return hits
        if (
            len(value) == 40
            and _LEGACY_TOKEN.match(value)
            and not is_reference(ctx)
            and _api_token_context(ctx)
            and any(c.isdigit() for c in value)
            and any(c.isalpha() for c in value)
        ):
            return (Hit(self.id, 0, 40),)
        return ()


API_TOKEN = ApiTokenDetector()

DETECTORS: tuple[Detector, ...] = (
    ACCOUNT_ID,
    TUNNEL_ID,
    TUNNEL_TOKEN,
    TUNNEL_CREDENTIALS,
    R2_ENDPOINT,
    API_TOKEN,
)


def _c(key: str | None = None, *path: str | int, env: str | None = None,
       kind: str | None = None, embedded: str | None = None) -> Context:
    return Context(key=key, key_path=(*path, key) if key else tuple(path), env_name=env,
                   kind=kind, embedded=embedded)


_ACCT = "4aa95df965d3bc2bfaabe9012a35857c"
_TUN = "f6746974-5104-49ef-beed-c66a048f5062"
_TOKEN = base64.b64encode(json.dumps(
    {"a": _ACCT, "t": _TUN, "s": "ZmFrZS10dW5uZWwtc2VjcmV0LWZvci10ZXN0cw=="},
    separators=(",", ":")).encode()).decode()
_TSECRET = "q7Lr2ZxP9vKm4TnW8cYbXk3Vw5Ju1Hs6Gd0Fa2Eo+Qk="
_CREDS = json.dumps({"AccountTag": _ACCT, "TunnelSecret": _TSECRET, "TunnelID": _TUN})
_NEW = "cfut_" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6kM9n" + "0a1b2c3d"
_LEGACY = "Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa12"
EXAMPLES: tuple[Example, ...] = (
    Example(_ACCT, _c("accountId", "cloudflare"), frozenset({"cloudflare-account-id"})),
    Example(_ACCT, _c("value", env="CLOUDFLARE_ACCOUNT_ID"), frozenset({"cloudflare-account-id"})),
    Example(_ACCT, _c("AccountTag", embedded="json"), frozenset({"cloudflare-account-id"})),
    Example(_ACCT, _c("account", "cloudflare"), frozenset({"cloudflare-account-id"})),
    Example(_ACCT, _c("value", env="TUNNEL_ACCOUNT"), frozenset({"cloudflare-account-id"}),
            "a cloudflared env var"),
    Example(_ACCT, _c("value", env="CF_ACCOUNT_ID"), frozenset({"cloudflare-account-id"})),
    Example(_ACCT, _c("CLOUDFLARE_ACCOUNT_ID", env="CLOUDFLARE_ACCOUNT_ID"),
            frozenset({"cloudflare-account-id"}), "a dotenv line"),
    Example(_ACCT, _c("account_id", "templating", embedded="json"),
            frozenset({"cloudflare-account-id"}), "a Grafana dashboard variable"),
    Example(_ACCT, _c("checksum"), frozenset(), "an MD5 elsewhere"),
    Example(_ACCT, _c("account", "billing"), frozenset(), "a bare account key, not Cloudflare"),
    Example(_ACCT.upper(), _c("accountId"), frozenset(), "uppercase: not Cloudflare's shape"),
    Example(_TUN, _c("tunnelId", "global", "cloudflare"), frozenset({"cloudflare-tunnel-id"}),
            "seed 2.1"),
    Example(_TUN, _c("tunnel", embedded="cloudflared"), frozenset({"cloudflare-tunnel-id"})),
    Example("00000000-0000-0000-0000-000000000000", _c("CLOUDFLARE_TUNNEL_ID", "stringData"),
            frozenset(), "the nil UUID, a value left blank on purpose"),
    Example(_TUN, _c("TunnelID", embedded="json"), frozenset({"cloudflare-tunnel-id"})),
    Example(_TUN, _c("id", "cloudflare", "tunnel"), frozenset({"cloudflare-tunnel-id"})),
    Example(f"/etc/cloudflared/{_TUN}.json", _c("credentials-file", embedded="cloudflared"),
            frozenset({"cloudflare-tunnel-id"}), "the credentials file is named after it"),
    Example(f"{_TUN}.cfargotunnel.com", _c("target"), frozenset({"cloudflare-tunnel-id"}),
            "a DNS route target"),
    Example(_TUN, _c("uid", "metadata"), frozenset(), "a Kubernetes uid"),
    Example(_TUN, _c("uid", "dashboard"), frozenset(), "a Grafana dashboard uid"),
    Example(_TUN, _c("id", "requests"), frozenset(), "some other UUID"),
    Example("my-tunnel", _c("tunnel", embedded="cloudflared"), frozenset(), "a tunnel name"),
    Example(_TOKEN, _c("token", "cloudflared"), frozenset({"cloudflare-tunnel-token"})),
    Example(_TOKEN, _c("value", env="TUNNEL_TOKEN"), frozenset({"cloudflare-tunnel-token"})),
    Example("tunnel run --token " + _TOKEN, _c("args"), frozenset({"cloudflare-tunnel-token"})),
    Example("eyJhIjoiIn0notbase64json!", _c("note"), frozenset(), "shape only, not a token"),
    Example('{"AccountTag":"fake","TunnelSecret":"fake","TunnelID":"fake"}', _c("run"),
            frozenset(), "a CI job's stand-in credentials"),
    Example(_CREDS, _c("credentials.json", "stringData"),
            frozenset({"cloudflare-tunnel-credentials"}), "the whole document"),
    Example(_TSECRET, _c("TunnelSecret", embedded="json"),
            frozenset({"cloudflare-tunnel-credentials"})),
    Example("https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com",
            _c("endpointURL", "backup", "barmanObjectStore"),
            frozenset({"cloudflare-r2-endpoint"}), "seed 2.5"),
    Example("https://4aa95df965d3bc2bfaabe9012a35857c.r2.cloudflarestorage.com",
            _c("endpoint", "global", "s3"), frozenset({"cloudflare-r2-endpoint"}), "seed 2.1"),
    Example("4aa95df965d3bc2bfaabe9012a35857c.eu.r2.cloudflarestorage.com/bucket",
            _c("host"), frozenset({"cloudflare-r2-endpoint"}), "no scheme, EU jurisdiction"),
    Example("https://r2.cloudflarestorage.com", _c("endpoint"), frozenset(), "no account"),
    Example("https://s3.us-east-1.amazonaws.com", _c("endpoint"), frozenset()),
    Example(_NEW, _c("apiToken"), frozenset({"cloudflare-api-token"})),
    Example(_NEW, _c("note"), frozenset({"cloudflare-api-token"}), "the prefix is enough"),
    Example(_LEGACY, _c("value", env="CLOUDFLARE_API_TOKEN"), frozenset({"cloudflare-api-token"})),
    Example(_LEGACY, _c("api-token", "stringData"), frozenset({"cloudflare-api-token"}),
            "cert-manager's secret key"),
    Example(_LEGACY, _c("commit"), frozenset(), "40 characters without token context"),
    Example(_LEGACY, _c("apiTokenSecretRef", "cloudflare"), frozenset(), "a reference"),
    Example("${{ secrets.CLOUDFLARE_API_TOKEN }}", _c("CLOUDFLARE_API_TOKEN", "env"), frozenset(),
            "a GitHub Actions expression"),
    Example("{{ .Values.cloudflare.apiToken }}", _c("api-token", "stringData"), frozenset(),
            "a Helm template"),
)


class CloudflareAccountIdPlugin(LinePlugin):
    secret_type = "Cloudflare account id"
    detector = ACCOUNT_ID


class CloudflareTunnelIdPlugin(LinePlugin):
    secret_type = "Cloudflare tunnel id"
    detector = TUNNEL_ID


class CloudflareTunnelTokenPlugin(LinePlugin):
    secret_type = "Cloudflare tunnel token"
    detector = TUNNEL_TOKEN


class CloudflareTunnelCredentialsPlugin(LinePlugin):
    secret_type = "Cloudflare tunnel credentials"
    detector = TUNNEL_CREDENTIALS


class CloudflareR2EndpointPlugin(LinePlugin):
    secret_type = "Cloudflare R2 endpoint"
    detector = R2_ENDPOINT


class CloudflareApiTokenPlugin(LinePlugin):
    secret_type = "Cloudflare API token"
    detector = API_TOKEN
