"""Talos Linux: machine and cluster secrets of a machine config or a secrets bundle.

A Talos machine config (`talosctl gen config`, or the `secrets.yaml` bundle) carries the
cluster's keys in the clear: `machine.token` and `cluster.token` (bootstrap tokens,
`<6>.<16>` lowercase alphanumerics), `cluster.secret`, `cluster.secretboxEncryptionSecret` and
`cluster.aescbcEncryptionSecret` (base64 of 32 random bytes), `trustdinfo.token`, and the CAs'
private keys (`ca.key`, base64-encoded PEM: reported by `private-key`).

Usable as a detect-secrets plugin: `detect-secrets scan --plugin detectors/talos.py FILE`.
No `from __future__ import annotations` in provider modules: detect-secrets loads them by path
without registering them in sys.modules, where dataclasses cannot resolve string annotations.
"""

import re

from secretsync.detection import Context, Detector, Example
from secretsync.detectors._common import Keywords, LinePlugin, PatternDetector, names, parent

# kubeadm-style bootstrap token: token id `[a-z0-9]{6}`, token secret `[a-z0-9]{16}`.
_TOKEN_SHAPE = r"[a-z0-9]{6}\.[a-z0-9]{16}"


def _token_context(ctx: Context) -> bool:
    return any(n.endswith("token") for n in names(ctx))


def _not_a_word(text: str, ctx: Context) -> bool:
    # The secret half is random: a digit and a letter, as any generated token has.
    tid, secret = text.split(".", 1)
    if tid == "abcdef" and secret == "0123456789abcdef":
        return False  # kubeadm's documented example
    return any(c.isdigit() for c in secret) and any(c.isalpha() for c in secret)


TOKEN = PatternDetector(
    id="talos-token",
    description="Talos / kubeadm bootstrap token (machine.token, cluster.token, trustd token)",
    prefilter=Keywords(("token",)),
    # Starts with a literal, which re skips to quickly; the pattern below checks the rest.
    requires=(re.compile(r"\.[a-z0-9]{16}(?![A-Za-z0-9])"),),
    pattern=re.compile(rf"(?<![A-Za-z0-9.]){_TOKEN_SHAPE}(?![A-Za-z0-9.])"),
    needs=_token_context,
    accept=_not_a_word,
    quick=".",
)

_B64_SECRET = re.compile(r"^[A-Za-z0-9+/]{32,}={0,2}$")


def _encryption_context(ctx: Context) -> bool:
    return any(n.endswith("encryptionsecret") for n in names(ctx))


def _cluster_secret_context(ctx: Context) -> bool:
    return ctx.key_lower == "secret" and parent(ctx) == "cluster"


def _random(text: str, ctx: Context) -> bool:
    return (any(c.isdigit() for c in text) and any(c.isupper() for c in text)
            and any(c.islower() for c in text))


ENCRYPTION_SECRET = PatternDetector(
    id="talos-encryption-secret",
    description="Talos etcd encryption key (secretboxEncryptionSecret, aescbcEncryptionSecret)",
    prefilter=Keywords(("encryptionsecret",)),
    pattern=_B64_SECRET,
    needs=_encryption_context,
    accept=_random,
)

CLUSTER_SECRET = PatternDetector(
    id="talos-cluster-secret",
    description="Talos cluster secret (cluster.secret: base64 of 32 random bytes)",
    prefilter=Keywords(("cluster:",)),
    requires=(re.compile(r"secret:"),),
    pattern=_B64_SECRET,
    needs=_cluster_secret_context,
    accept=_random,
)

DETECTORS: tuple[Detector, ...] = (TOKEN, ENCRYPTION_SECRET, CLUSTER_SECRET)


def _c(key: str | None = None, *path: str | int, env: str | None = None) -> Context:
    return Context(key=key, key_path=(*path, key) if key else tuple(path), env_name=env)


_TOK = "x7k2p9.q4m8v1c6z3w5n0ab"
_KEY32 = "Qm9ndXNLZXlGb3JUZXN0czEyMzQ1Njc4OTAxMjM0NTY="
EXAMPLES: tuple[Example, ...] = (
    Example(_TOK, _c("token", "machine"), frozenset({"talos-token"}), "machine.token"),
    Example(_TOK, _c("token", "cluster"), frozenset({"talos-token"}), "cluster.token"),
    Example(_TOK, _c("bootstraptoken", "secrets"), frozenset({"talos-token"}),
            "a secrets bundle"),
    Example(_TOK, _c("token", "trustdinfo"), frozenset({"talos-token"})),
    Example(f"talosctl --token {_TOK}", _c("token", "bootstrap"), frozenset({"talos-token"}),
            "inside a command line"),
    Example(_TOK, _c("host"), frozenset(), "no token key"),
    Example("abcdef.ghijklmnopqrstuv", _c("token", "machine"), frozenset(), "letters only"),
    Example("my-token.example.com", _c("token"), frozenset(), "a host name"),
    Example(_KEY32, _c("secretboxEncryptionSecret", "cluster"),
            frozenset({"talos-encryption-secret"})),
    Example(_KEY32, _c("aescbcEncryptionSecret", "cluster"),
            frozenset({"talos-encryption-secret"})),
    Example(_KEY32, _c("secretboxencryptionsecret", "secrets"),
            frozenset({"talos-encryption-secret"}), "a secrets bundle spells it lower case"),
    Example("your-encryption-secret-here", _c("secretboxEncryptionSecret", "cluster"),
            frozenset(), "a placeholder"),
    Example(_KEY32, _c("secret", "cluster"), frozenset({"talos-cluster-secret"})),
    Example("sample-cluster-secret", _c("secret", "cluster"), frozenset(), "a placeholder"),
    Example(_KEY32, _c("id", "cluster"), frozenset(), "the cluster id identifies, it is public"),
    Example("c00ffe.0123456789abcdef", _c("token", "machine"), frozenset({"talos-token"}),
            "shape only: a documentation token is still reported where it is configured"),
    Example("abcdef.0123456789abcdef", _c("bootstraptoken", "secrets"), frozenset(),
            "kubeadm's documented example token"),
    Example(_KEY32, _c("secret", "sops"), frozenset(), "not under cluster"),
    Example("v1.30.0", _c("token", "machine"), frozenset(), "a version"),
)


class TalosTokenPlugin(LinePlugin):
    secret_type = "Talos bootstrap token"
    detector = TOKEN


class TalosEncryptionSecretPlugin(LinePlugin):
    secret_type = "Talos etcd encryption secret"
    detector = ENCRYPTION_SECRET


class TalosClusterSecretPlugin(LinePlugin):
    secret_type = "Talos cluster secret"
    detector = CLUSTER_SECRET
