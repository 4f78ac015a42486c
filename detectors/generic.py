"""Generic secrets through detect-secrets' built-in plugins, instantiated per scan.

detect-secrets keeps its configuration in a process-wide singleton (`detect_secrets.settings`),
which is neither thread-safe nor ours to change. So this module never reads or writes it: it
constructs plugin instances itself (`GenericDetectors(settings)`) and only calls methods that do
not consult global settings (`analyze_string` of the regex plugins, `calculate_shannon_entropy`
of the entropy plugins). `BasePlugin.analyze_line` does read them and is never called.

The entropy plugins are detect-secrets' main noise source on GitOps trees, so entropy counts only
under a secret-ish key, as one id, `generic-secret`, after GitOps-aware exclusions.

Usable as a detect-secrets plugin too (`GenericSecretPlugin`); the built-ins need no adapter.
No `from __future__ import annotations` in provider modules: detect-secrets loads them by path
without registering them in sys.modules, where dataclasses cannot resolve string annotations.
"""

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from detect_secrets.plugins import aws as _aws
from detect_secrets.plugins import azure_storage_key as _azure
from detect_secrets.plugins import basic_auth as _basic_auth
from detect_secrets.plugins import discord as _discord
from detect_secrets.plugins import github_token as _github
from detect_secrets.plugins import gitlab_token as _gitlab
from detect_secrets.plugins import high_entropy_strings as _entropy
from detect_secrets.plugins import jwt as _jwt
from detect_secrets.plugins import mailchimp as _mailchimp
from detect_secrets.plugins import npm as _npm
from detect_secrets.plugins import openai as _openai
from detect_secrets.plugins import private_key as _private_key
from detect_secrets.plugins import pypi_token as _pypi
from detect_secrets.plugins import sendgrid as _sendgrid
from detect_secrets.plugins import slack as _slack
from detect_secrets.plugins import square_oauth as _square
from detect_secrets.plugins import stripe as _stripe
from detect_secrets.plugins import twilio as _twilio

from secretsync.detection import Context, Detector, Example, Hit, Joined, Searcher
from secretsync.detectors._common import (
    AnyOf,
    Delimited,
    Keywords,
    LinePlugin,
    PatternDetector,
    is_reference,
    lowered,
    names,
    norm,
)


@dataclass(frozen=True, slots=True)
class _Builtin:
    """How one detect-secrets built-in maps to a secretsync detector."""

    id: str
    module: Any
    class_name: str
    prefilter: str | Searcher
    """A regex, or a faster gate with the same `search` (see _common.Keywords)."""
    keyword_line: bool = False
    """The plugin's pattern needs the key beside the value (`aws_secret_key = "..."`)."""
    requires: str | Searcher | None = None
    """A pattern the file must also match (see secretsync.detection.could_fire)."""


# TelegramBotTokenDetector (ours is better), IPPublicDetector (public IPs are not secrets),
# KeywordDetector and the entropy plugins used bare (the noise), and the keyword-generic IBM,
# SoftLayer and Cloudant patterns (generic-secret covers them) are left out on purpose.
_BUILTINS: tuple[_Builtin, ...] = (
    _Builtin("aws-access-key", _aws, "AWSKeyDetector",
             Keywords(("akia", "asia", "abia", "acca", "a3t", "aws")), keyword_line=True,
             # An access key id, or the 40-character secret key the keyword pattern wants.
             requires=AnyOf((
                 re.compile(r"A3T[A-Z0-9][0-9A-Z]{16}|ABIA[0-9A-Z]{16}|ACCA[0-9A-Z]{16}"
                            r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}"),
                 Delimited(r"(?<![0-9a-zA-Z/+])[0-9a-zA-Z/+]{40}(?![0-9a-zA-Z/+])")))),
    _Builtin("azure-storage-key", _azure, "AzureStorageKeyDetector", r"AccountKey="),
    _Builtin("basic-auth-url", _basic_auth, "BasicAuthDetector", r"://[^\s/?#@]+@"),
    _Builtin("discord-bot-token", _discord, "DiscordBotTokenDetector",
             r"\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27}"),
    _Builtin("github-token", _github, "GitHubTokenDetector", r"gh[pousr]_"),
    _Builtin("gitlab-token", _gitlab, "GitLabTokenDetector",
             Keywords(("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-",
                       "glptt-", "glagent-", "gloas-", "gr1348941"))),
    _Builtin("jwt", _jwt, "JwtTokenDetector", r"eyJ"),
    _Builtin("mailchimp-key", _mailchimp, "MailchimpDetector", r"-us[0-9]"),
    _Builtin("npm-token", _npm, "NpmDetector", r":_authToken="),
    _Builtin("openai-token", _openai, "OpenAIDetector", r"T3BlbkFJ"),
    _Builtin("private-key", _private_key, "PrivateKeyDetector",
             r"PRIVATE KEY|PuTTY-User-Key-File-2"),
    _Builtin("pypi-token", _pypi, "PypiTokenDetector", r"pypi-AgE"),
    _Builtin("sendgrid-key", _sendgrid, "SendGridDetector", r"SG\."),
    _Builtin("slack-token", _slack, "SlackDetector",
             AnyOf((re.compile(r"xox[abposr]-"), re.compile(r"hooks\.slack\.com")))),
    _Builtin("square-oauth-secret", _square, "SquareOAuthDetector", r"sq0csp-"),
    _Builtin("stripe-key", _stripe, "StripeDetector", Keywords(("sk_live_", "rk_live_"))),
    _Builtin("twilio-key", _twilio, "TwilioKeyDetector",
             AnyOf((re.compile(r"AC[a-z0-9]{32}"), re.compile(r"SK[a-z0-9]{32}")))),
)

GENERIC_SECRET_ID = "generic-secret"
PRIVATE_KEY_B64_ID = "private-key-base64"
PASSWORD_HASH_ID = "password-hash"
GENERIC_IDS: frozenset[str] = frozenset({GENERIC_SECRET_ID, PASSWORD_HASH_ID,
                                         PRIVATE_KEY_B64_ID, *(b.id for b in _BUILTINS)})

# Crypt-style password hashes (bcrypt, sha-crypt, Apache MD5, argon2): found in Helm values as
# `passwordHash:` or in htpasswd lines; a weak password falls to an offline guess, so the hash
# is as sensitive as the password. The shapes are strict enough to need no key context.
PASSWORD_HASH = PatternDetector(
    id=PASSWORD_HASH_ID,
    description="Password hash (bcrypt, sha-crypt, Apache MD5, argon2)",
    prefilter=Keywords(("$2a$", "$2b$", "$2y$", "$5$", "$6$", "$apr1$", "$argon2")),
    pattern=re.compile(
        r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}"
        r"|\$[56]\$(?:rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86}"
        r"|\$apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}"
        r"|\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{8,}\$[A-Za-z0-9+/]{16,}"
    ),
    quick="$",
)

def _b64_private_key(text: str, ctx: Context) -> bool:
    """Decodes to a whole PEM private key (a certificate, a public key, or a truncated
    `LS0tLS1CRUdJTi...` in documentation do not)."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        return False
    return b"PRIVATE KEY-----" in raw[:80] and b"-----END " in raw


# `LS0tLS1CRUdJTi` is base64 of `-----BEGIN`: the usual form of a Secret's `tls.key` and of a
# Talos machine config's `ca.key`.
PRIVATE_KEY_B64 = PatternDetector(
    id=PRIVATE_KEY_B64_ID,
    description="Base64-encoded PEM private key (LS0tLS1CRUdJTi...)",
    prefilter=re.compile(r"LS0tLS1CRUdJTi"),
    pattern=re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{60,}={0,2}"),
    accept=_b64_private_key,
    quick="LS0tLS1CRUdJTi",
)

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?-----END [A-Z0-9 ]*-----",
                        re.S)
_PUNCT_EDGES = " \t\"'=:"


@dataclass(frozen=True, slots=True)
class BuiltinDetector:
    """One detect-secrets regex plugin instance behind the secretsync Detector interface."""

    id: str
    description: str
    prefilter: Searcher
    plugin: Any
    keyword_line: bool = False
    requires: tuple[Searcher, ...] = ()

    def find(self, value: str, ctx: Context) -> Iterable[Hit]:
        # The prefilter doubles as a cheap gate per value: it is a necessary condition.
        if not self.prefilter.search(value) and not (
            self.keyword_line and ctx.key and self.prefilter.search(ctx.key)
        ):
            return ()
        if self.id == "private-key":
            blocks = [Hit(self.id, m.start(), m.end()) for m in _PEM_BLOCK.finditer(value)]
            if blocks:
                return blocks
            if ctx.embedded == "comment":
                return ()  # a header named in a comment (`## -----BEGIN RSA PRIVATE KEY-----`)
        hits = dict.fromkeys(self._spans(value, 0))
        if self.keyword_line and ctx.key:
            prefix = f'{ctx.key} = "'
            for start, end in self._spans(f'{prefix}{value}"', len(prefix)):
                if 0 <= start < end <= len(value):
                    hits.setdefault((start, end))
        if self.id == "basic-auth-url":
            # `guest:guest@`, `postgres:postgres@`: a default login of a local service or a
            # CI container, spelled twice; not an account's password.
            hits = {(s, e): None for s, e in hits if not value[:s].endswith(
                f"//{value[s:e]}:")}
        return [Hit(self.id, s, e) for s, e in sorted(hits)]

    def _spans(self, text: str, offset: int) -> list[tuple[int, int]]:
        # analyze_string decides validity (the JWT plugin checks the JSON, for instance) but
        # yields only text; the plugin's own patterns give the positions.
        valid = set(self.plugin.analyze_string(text))
        if not valid:
            return []
        out = []
        for regex in self.plugin.denylist:
            for m in regex.finditer(text):
                if not any(g in valid for g in (m.group(0), *m.groups()) if g):
                    continue
                start, end = m.span()
                g1 = m.group(1) if regex.groups else None
                # A capture group inside the match is the secret (the password of a URL,
                # however short); one at the start is a prefix alternation (`(ghp|gho)_...`).
                if g1 is not None and m.start(1) > m.start() and (
                        len(g1) >= 8 or self.id == "basic-auth-url"):
                    start, end = m.span(1)
                while start < end and text[start] in _PUNCT_EDGES:
                    start += 1
                while end > start and text[end - 1] in _PUNCT_EDGES:
                    end -= 1
                if end > start:
                    out.append((start - offset, end - offset))
        return out


DEFAULT_KEYWORDS: tuple[str, ...] = (
    "password", "passwd", "pwd", "pass", "passphrase", "secret", "token", "api_key",
    "private_key", "access_key", "secret_key", "auth_key", "master_key", "encryption_key",
    "signing_key", "credential", "credentials", "dsn",
)


@dataclass(frozen=True, slots=True)
class GenericSettings:
    """Per-scan configuration of the generic detectors; nothing here is global."""

    base64_limit: float = 3.0
    """Shannon entropy (bits/char, detect-secrets' formula) a mixed value needs under a
    secret-ish key. Lower than detect-secrets' 4.5 because the key already says "secret"."""
    hex_limit: float = 2.5
    min_length: int = 8
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    """Key/env-name endings that make a key secret-ish (`DB_PASSWORD`, `apiKey`), words joined
    by `_`. Matched after normalization (`api_key` matches `apiKey`, `API-KEY`); the last word
    is what the prefilter looks for in raw text."""
    disabled: frozenset[str] = frozenset()


_NUMBERISH = re.compile(
    r"^[-+]?(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?:[KMGTPE]i?|[kmgtpe]i?|[KMGT]B|ms|us|ns|s|m|h|d|w|y|%)?$"
    r"|^(?:\d+(?:\.\d+)?(?:ns|us|ms|s|m|h|d|w))+$"
)
_DNS_NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|^[A-Z]+$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_PATH = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\)|^[\w.-]+/[\w./-]+\.(?:json|ya?ml|pem|key|crt|"
                   r"txt|conf|cfg|ini|toml|env|p12|pfx|jks|md|html?|sh|py|js)$")
_SENTENCE = re.compile(r"\S\s+\S")
# `namespace/name` (cert-manager's inject-ca-from-secret) names a Secret; `f(...` is code.
_OBJECT_REF = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?/[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$")
_CODE_CALL = re.compile(r"^[A-Za-z_][\w.]*\(")
# A regular expression (a linter's `token: '\b(Pod|Service)s?\b'`, a log filter): a class
# escape beside a group, alternation, anchor or quantifier, which no generated token holds.
_REGEX_ESCAPE = re.compile(r"\\[bBdDsSwW]")
_REGEX_SYNTAX = re.compile(r"[()|^$*+?]")
# Lower-case words joined by `_` or `.`: a claim, model or setting name (Authelia's
# `id_token: [preferred_username]`, authentik's `authentik_crypto.certificatekeypair`), the
# lower-case twin of an env var name; under a password key it may be a passphrase.
_SNAKE_NAME = re.compile(r"^[a-z]+(?:[_.][a-z]+)+$")
# Ten characters in a row of the digits or the alphabet: typed by a person making up a value
# (`0123456789abcdef` repeated, `sk_test1234567890`), never a run of a generated token.
_SEQUENCE = re.compile(r"0123456789|1234567890|abcdefghij")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Keys that name a Secret's key in ESO and Kubernetes manifests but hold the secret itself in
# S3 clients' settings (`aws.credentials.secretKey`, MinIO's `secretKey`): there only a
# random-looking value counts, never a name such as `GRAFANA_SSO_CLIENT_SECRET`.
_NAME_OR_SECRET_KEYS = frozenset({"secretkey", "secretaccesskey"})
_PASSWORD_KEYS = ("password", "passwd", "pwd")
_PASSWORD_ENTROPY_DISCOUNT = 0.5
"""Below `base64_limit` (default 3.0 -> 2.5) for a mixed value under a password key."""
_RANDOM = re.compile(r"^[A-Za-z0-9+/=_-]{20,}$")
# Words joined by `-` or `.` (`jackett-vpnConfig`, `app-tls.v2`): under a key ending in `Secret`
# (`configFileSecret`, `tlsSecret`) that is the name of the Secret holding the value, as the
# lower-case names already are everywhere (`_DNS_NAME`). A random token has digits inside its
# parts, or starts one with a digit.
_WORDS_NAME = re.compile(r"^[A-Za-z]+[0-9]*(?:[-.][A-Za-z]+[0-9]*)+$")


def _random_token(v: str) -> bool:
    return (bool(_RANDOM.match(v)) and any(c.isdigit() for c in v)
            and any(c.isupper() for c in v) and any(c.islower() for c in v))


def _not_a_secret_value(value: str, min_length: int) -> bool:
    v = value.strip()
    return (
        len(v) < min_length
        or bool(_NUMBERISH.match(v))
        or bool(_URL.match(v))
        or bool(_PATH.match(v))
        or bool(_ENV_NAME.match(v))
        or (("-" in v or "." in v) and bool(_DNS_NAME.match(v)) and not _UUID.match(v))
        or bool(_SENTENCE.search(v))
        or bool(_OBJECT_REF.match(v))
        or bool(_CODE_CALL.match(v))
        or (bool(_REGEX_ESCAPE.search(v)) and bool(_REGEX_SYNTAX.search(v)))
        or v.lower() in ("true", "false", "yes", "no", "null", "none")
    )


_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")
# After a key: an optional closing quote, the separator, and the start of an inline value
# (not a block, flow collection, anchor, alias, tag, comment or nothing).
_INLINE_VALUE = re.compile(r"""["']?[ \t]*[:=][ \t]*["']?[^\s"'#{}\[\],&*!|>]""")
_ENV_VALUE = re.compile(r"""["']?(?:[ \t]*\r?\n[ \t]*(?:-[ \t]+)?|[ \t]*,[ \t]*)value:[ \t]*["']?"""
                        r"""[^\s"'#{}\[\],&*!]""")
_NAME_BEFORE = re.compile(r"""name:[ \t]*["']?$""")
# What `find` never reports, as it stands on a (lower-cased) line after `key: `: a boolean or
# null alone (`automountServiceAccountToken: false`), and, under a key that is exactly
# `secretKey` at the start of its line (ESO's `data[].secretKey: name`), anything but a
# random-looking run of 20 or more characters with a digit in it (`_random_token`). Skipping
# such lines keeps most ExternalSecrets of a tree from being parsed at all.
_WORD_VALUE = re.compile(r"""["']?(?:true|false|yes|no|null|none|~)["']?[ \t]*(?:#.*)?""")
_RANDOM_RUN = re.compile(r"[a-z0-9+/=_-]{20,}")
_KEY_AT_LINE_START = re.compile(r"""[ \t]*(?:-[ \t]+)?["']?""")


def _never_found_inline(text: str, key_start: int, key: str, value_start: int) -> bool:
    """True when the inline value at `value_start` (after the key that starts at `key_start`)
    is one `GenericSecretDetector.find` rejects whatever its context (see `_WORD_VALUE`)."""
    line_end = text.find("\n", value_start)
    if line_end < 0:
        line_end = len(text)
    if _WORD_VALUE.fullmatch(text, value_start, line_end):
        return True
    if key not in _NAME_OR_SECRET_KEYS:
        return False
    line_start = text.rfind("\n", 0, key_start) + 1
    return (_KEY_AT_LINE_START.fullmatch(text, line_start, key_start) is not None
            and not any(any(c.isdigit() for c in m.group())
                        for m in _RANDOM_RUN.finditer(text, value_start, line_end))
            and "\\" not in text[value_start:line_end])


@dataclass(frozen=True, slots=True)
class KeywordGate:
    """Where generic-secret could fire: a key ending in a keyword with a value on its line
    (`password: x`, `"apiKey": "x"`, `DB_PASSWORD=x`), or an env entry whose `name:` ends in
    one, followed by an inline `value:` (`- name: DB_PASSWORD` / `value: x`, or flow style).
    A bare keyword is not enough: `secretKeyRef:`, `secretName:`, `existingSecret: name`,
    `secret:` volume blocks and `valueFrom` entries stand in most manifests and hold nothing.

    Hand-written rather than one regex: the keywords' first letters are common, so a regex
    alternation tries its branches at most positions of a file (~20 MB/s); finding each
    keyword's last word with `str.find` in the lower-cased text and checking the few places
    it occurs is several times faster."""

    endings: tuple[str, ...]
    """Normalized keyword endings (`apikey`, `password`)."""
    words: tuple[str, ...] = field(init=False)
    pattern: str = field(init=False)
    flags: int = 0

    def __post_init__(self) -> None:
        # The last word of each ending, as it stands at the end of a raw key: `key` for
        # `apikey` (`api_key`, `apiKey`), the whole ending for one-word keywords.
        words = set()
        for k in self.endings:
            words.add(k)
            if k.endswith("key") and k != "key":
                words.add("key")
        # A word that ends with another (`apikey`, `key`) finds nothing the shorter one does
        # not: a hit must end the key, and the key is read back from the hit's end. Each word
        # searched is a pass over the text.
        words = {w for w in words if not any(w != o and w.endswith(o) for o in words)}
        object.__setattr__(self, "words", tuple(sorted(words)))
        object.__setattr__(self, "pattern", "generic-secret keyword gate: " + ",".join(
            sorted(self.endings)))

    def search(self, string: str, /) -> object | None:
        text = lowered(string)
        for word in self.words:
            pos = text.find(word)
            while pos >= 0:
                end = pos + len(word)
                if self._candidate(text, pos, end):
                    return True
                pos = text.find(word, end)
        return None

    @property
    def needles(self) -> tuple[str, ...]:
        """What `holds_in` asks `Joined` the places of (see `GatePlan`)."""
        return self.words

    def holds_in(self, joined: Joined) -> set[int]:
        """The joined files where the gate holds (see `GatePlan.per_file`)."""
        low = joined.low
        out: set[int] = set()
        for word in self.words:
            n = len(word)

            def candidate(pos: int, n: int = n) -> bool:
                return self._candidate(low, pos, pos + n)

            out |= joined.files_at(joined.places(word), candidate)
        return out

    def _candidate(self, text: str, pos: int, end: int) -> bool:
        if end < len(text) and text[end] in _KEY_CHARS:
            return False  # the word does not end the key (`secretname`, `tokens`)
        # A value after the key on its line, or as an env entry's `value:`, first: most
        # places have neither, and the key is read back only where one holds.
        inline = _INLINE_VALUE.match(text, end)
        if inline is None and not _ENV_VALUE.match(text, end):
            return False
        start = pos
        while start > 0 and text[start - 1] in _KEY_CHARS:
            start -= 1
        key = norm(text[start:end])
        if (not key.endswith(self.endings) and inline is not None and start > 1
                and text[start - 1] == " " and text[start - 2] in _KEY_CHARS):
            # A key of two words: YAML's `api key: ...`, an INI `api key = ...` in a block
            # scalar (documents._INNER reads it whole).
            start -= 1
            while start > 0 and text[start - 1] in _KEY_CHARS:
                start -= 1
            key = norm(text[start:end])
        if not key.endswith(self.endings) or key.endswith("existingsecret"):
            return False
        if inline is not None:
            return not _never_found_inline(text, start, key, inline.end() - 1)
        line_start = text.rfind("\n", 0, start) + 1
        return bool(_NAME_BEFORE.search(text, line_start, start))


@dataclass(frozen=True, slots=True)
class GenericSecretDetector:
    """A high-entropy literal under a secret-ish key: detect-secrets' entropy plugins, gated."""

    settings: GenericSettings
    base64: Any
    hex: Any
    prefilter: KeywordGate
    endings: tuple[str, ...] = ()
    """`settings.keywords`, normalized."""
    defer_to: tuple[Detector, ...] = ()
    """Specific detectors that own a value when they match it (a `tskey-` under `apiKey` is a
    Tailscale key, one finding, not also a generic secret)."""
    id: str = GENERIC_SECRET_ID
    description: str = "High-entropy literal under a secret-ish key (password, token, ...)"

    def find(self, value: str, ctx: Context) -> Iterable[Hit]:
        ns = names(ctx)
        if not any(n.endswith(self.endings) for n in ns):
            return ()
        if is_reference(ctx) or _not_a_secret_value(value, self.settings.min_length):
            return ()
        v = value.strip()
        if norm(v) in ns or norm(v).endswith(self.endings):
            return ()  # `password: password`, `token: AUTH_TOKEN`-style echoes of the key
        if any(n in _NAME_OR_SECRET_KEYS for n in ns) and not _random_token(v):
            return ()
        if _WORDS_NAME.match(v) and any(n.endswith("secret") for n in ns):
            return ()  # `configFileSecret: jackett-vpnConfig` names a Secret
        password_key = any(n.endswith(_PASSWORD_KEYS) for n in ns)
        if (_SNAKE_NAME.match(v) and not password_key) or _SEQUENCE.search(v.lower()):
            return ()
        limit = self.settings.base64_limit
        if password_key and any(c.isdigit() for c in v) and any(c.isalpha() for c in v):
            # Under a password key a human password (`Batman123`) is the finding: letters and
            # digits are evidence enough, where a random token needs the entropy.
            limit -= _PASSWORD_ENTROPY_DISCOUNT
        if _HEX.match(v):
            ok = self.hex.calculate_shannon_entropy(v) >= self.settings.hex_limit
        else:
            ok = self.base64.calculate_shannon_entropy(v) >= limit
        if not ok:
            return ()
        # Last, because it runs other detectors: only values that got this far pay for it.
        if any(any(True for _ in d.find(value, ctx)) for d in self.defer_to):
            return ()
        start = value.find(v)
        return (Hit(self.id, start, start + len(v)),)


@dataclass(frozen=True, slots=True)
class GenericDetectors:
    """A fresh, independent set of generic detectors: one per scan (or per thread)."""

    settings: GenericSettings = field(default_factory=GenericSettings)
    specific: tuple[Detector, ...] = ()
    """The provider detectors of the same scan, which generic-secret defers to."""
    detectors: tuple[Detector, ...] = field(init=False)

    def __post_init__(self) -> None:
        out: list[Detector] = []
        for b in _BUILTINS:
            if b.id in self.settings.disabled:
                continue
            cls = getattr(b.module, b.class_name)
            out.append(BuiltinDetector(
                id=b.id,
                description=f"{cls.secret_type} (detect-secrets {b.class_name})",
                prefilter=re.compile(b.prefilter) if isinstance(b.prefilter, str) else b.prefilter,
                plugin=cls(),
                keyword_line=b.keyword_line,
                requires=((re.compile(b.requires),) if isinstance(b.requires, str)
                          else (b.requires,) if b.requires is not None else ()),
            ))
        if PASSWORD_HASH_ID not in self.settings.disabled:
            out.append(PASSWORD_HASH)
        if PRIVATE_KEY_B64_ID not in self.settings.disabled:
            out.append(PRIVATE_KEY_B64)
        if GENERIC_SECRET_ID not in self.settings.disabled:
            out.append(GenericSecretDetector(
                settings=self.settings,
                base64=_entropy.Base64HighEntropyString(limit=min(self.settings.base64_limit,
                                                                  8.0)),
                hex=_entropy.HexHighEntropyString(limit=min(self.settings.hex_limit, 8.0)),
                prefilter=KeywordGate(tuple(norm(k) for k in self.settings.keywords)),
                endings=tuple(norm(k) for k in self.settings.keywords),
                defer_to=(*self.specific, *out),
            ))
        object.__setattr__(self, "detectors", tuple(out))


DETECTORS: tuple[Detector, ...] = GenericDetectors().detectors
"""A default set for uniformity with the other modules; scans should build their own."""


def _c(key: str | None = None, *path: str | int, env: str | None = None) -> Context:
    return Context(key=key, key_path=(*path, key) if key else tuple(path), env_name=env)


def _b64(doc: dict[str, Any]) -> str:
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_JWT = (_b64({"alg": "HS256", "typ": "JWT"}) + "." + _b64({"sub": "svc", "iat": 1700000000})
        + ".Qm9ndXNTaWduYXR1cmVGb3JUZXN0c09ubHkxMjM0NTY")
_PEM = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
        "-----END OPENSSH PRIVATE KEY-----\n")
_PW = "Vx8#qL2!mZ9@rT4$"
_PEM_B64 = base64.b64encode(
    b"-----BEGIN EC PRIVATE KEY-----\n"
    b"MHcCAQEEIBogusKeyMaterialForTestsOnly0123456789abcdefghijklmnop\n"
    b"-----END EC PRIVATE KEY-----\n").decode()
_CERT_B64 = base64.b64encode(
    b"-----BEGIN CERTIFICATE-----\nMIIBogusCertificateMaterialForTestsOnly0123456789abcdefghijklm\n"
    b"-----END CERTIFICATE-----\n").decode()


def _sealed(third: int, size: int = 512, body: int = 560) -> str:
    """Sealed Secrets' ciphertext shape: a 2-byte length (512 bytes: a 4096-bit key), the RSA
    part and the AES-GCM part; `third` picks the third base64 letter (`AgA`..`AgD`)."""
    raw = bytes([size >> 8, size & 255, third]) + bytes((i * 131 + 7) % 251 for i in range(body))
    return base64.b64encode(raw).decode()


EXAMPLES: tuple[Example, ...] = (
    Example("AKIA" + "Q3RZ7XKD4M2N8PLW", _c("accessKeyId", "aws"), frozenset({"aws-access-key"})),
    Example("wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "Q7Lr2ZxP9v", _c("aws_secret_access_key"),
            frozenset({"aws-access-key"}), "the key-anchored AWS pattern"),
    Example("AKIAIOSFODNN7EXAMPLE", _c("accessKeyId"), frozenset(), "AWS docs example"),
    Example(_PEM, _c("id_ed25519", "stringData"), frozenset({"private-key"}), "the whole block"),
    Example("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 host", _c("ssh_known_hosts"), frozenset(),
            "a public host key"),
    Example(_JWT, _c("bearer"), frozenset({"jwt"})),
    Example("ghp_" + "R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3s00", _c("GITHUB_TOKEN"),
            frozenset({"github-token"}), "generic-secret defers to the specific detector"),
    Example("xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", _c("url"),
            frozenset({"slack-token"})),
    Example("https://hooks.slack.com/services/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",
            _c("webhook"), frozenset({"slack-token"})),
    Example("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", _c("stripeKey"), frozenset({"stripe-key"})),
    Example("postgresql://app:S3cr3tPassw0rd@db.internal:5432/app", _c("DATABASE_URL"),
            frozenset({"basic-auth-url"}), "the password part is hit"),
    Example("postgresql://db.internal:5432/app", _c("DATABASE_URL"), frozenset()),
    Example(_PW, _c("password", "postgresql", "auth"), frozenset({"generic-secret"})),
    Example("q7Lr2ZxP9vKm4TnW8cYb", _c("value", env="API_TOKEN"), frozenset({"generic-secret"})),
    Example("q7Lr2ZxP9vKm4TnW8cYb", _c("client_secret", "oidc"), frozenset({"generic-secret"})),
    Example("q7Lr2ZxP9vKm4TnW8cYb", _c("description"), frozenset(), "no secret-ish key"),
    Example("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + "Qk" * 43 + "==",
            _c("connection"), frozenset({"azure-storage-key"})),
    Example("MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz0", _c("bot"),
            frozenset({"discord-bot-token"})),
    Example("glpat-" + "Xy7Zq8Wv9Ut0Sr1Qp2On", _c("ci"), frozenset({"gitlab-token"})),
    Example("0123456789abcdef0123456789abcdef-us21", _c("mailchimp"),
            frozenset({"mailchimp-key"})),
    Example("//registry.npmjs.org/:_authToken=npm_" + "Xy7Zq8Wv9Ut0Sr1Qp2On3Ml4Kk5Jj6Ii7Hh8",
            _c("npmrc"), frozenset({"npm-token"})),
    Example("sk-proj" + "Xy7Zq8Wv9Ut0Sr1Qp2On" + "T3BlbkFJ" + "Ab3dE6gH9jK2mN5pQ8sT", _c("llm"),
            frozenset({"openai-token"})),
    Example("pypi-AgEIcHlwaS5vcmc" + "A1b2C3d4E5" * 8, _c("upload"), frozenset({"pypi-token"})),
    Example("SG." + "Ab3dE6gH9jK2mN5pQ8sT1v" + "." + "Xy7Zq8Wv9Ut0Sr1Qp2On3Ml4Kk5Jj6Ii7Hh8Gg9Ff0E",
            _c("mail"), frozenset({"sendgrid-key"})),
    Example("sq0csp-" + "Ab3dE6gH9jK2mN5pQ8sT1vXy7Zq8Wv9Ut0Sr1Qp2On3", _c("square"),
            frozenset({"square-oauth-secret"})),
    Example("SK" + "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d", _c("twilio"), frozenset({"twilio-key"})),
    Example("my-app-secret", _c("secret"), frozenset(), "a Kubernetes resource name"),
    Example("q7Lr2ZxP9vKm4TnW8cYb", _c("passwordSecretRef"), frozenset(), "a reference key"),
    Example("db-credentials", _c("existingSecret", "auth"), frozenset(), "a reference"),
    Example("jackett-vpnConfig", _c("configFileSecret", "addons", "vpn"), frozenset(),
            "a Secret's name made of words, in mixed case"),
    Example("Grafana-Admin.v2", _c("credentialsSecret", "grafana"), frozenset(),
            "a Secret's name with a version suffix"),
    Example("jackett-vpnConfig", _c("vpnPassword", "addons", "vpn"), frozenset({"generic-secret"}),
            "the same words under a password key are the password"),
    Example("k8Hq-xR3vT9wLm2-pZ7n", _c("cookieSecret", "oauth2"), frozenset({"generic-secret"}),
            "a random token with dashes under a Secret-ending key"),
    Example("/etc/secrets/token", _c("tokenFile"), frozenset(), "no keyword ending, a path"),
    Example("/var/run/secrets/kubernetes.io/serviceaccount/token", _c("token"), frozenset(),
            "a path"),
    Example("https://auth.example.com/oauth/token", _c("token"), frozenset(), "a URL"),
    Example("true", _c("password"), frozenset(), "a boolean"),
    Example("3600s", _c("tokenTTL"), frozenset(), "a duration, no keyword ending"),
    Example("1h30m", _c("token"), frozenset(), "a duration"),
    Example("512Mi", _c("secret"), frozenset(), "a size"),
    Example("POSTGRES_PASSWORD", _c("passwordKey"), frozenset(), "no keyword ending"),
    Example("POSTGRES_PASSWORD", _c("password"), frozenset(), "an env var name"),
    Example("s3cr3t", _c("password"), frozenset(), "shorter than 8"),
    Example("aaaaaaaaaaaa", _c("password"), frozenset(), "no entropy"),
    Example("Used to sign session cookies", _c("secret"), frozenset(), "a sentence"),
    Example("Batman123", _c("PGADMIN_DEFAULT_PASSWORD", env="PGADMIN_DEFAULT_PASSWORD"),
            frozenset({"generic-secret"}), "a human password under a password key"),
    Example("Batman123", _c("token"), frozenset(), "the same value needs entropy elsewhere"),
    Example("password1", _c("password"), frozenset({"generic-secret"}), "a weak real password"),
    Example("$2a$10$" + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", _c("passwordHash"),
            frozenset({"password-hash"}), "a bcrypt hash (weave-gitops admin)"),
    Example("admin:$apr1$" + "r31.....$HqJZimcKQFAMYayBlzkrA/", _c("users", "auth"),
            frozenset({"password-hash"}), "an htpasswd line"),
    Example("$6$" + "saltsalt$" + "qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq."
            "qc.eoxqOmSuNp2xS0ktL3nh/", _c("hashedPassword"), frozenset({"password-hash"})),
    Example("$2a$10$too-short", _c("passwordHash"), frozenset(), "not a whole bcrypt hash"),
    Example(_PEM_B64, _c("tls.key", "data"), frozenset({"private-key-base64"}),
            "a Secret's tls.key"),
    Example(_PEM_B64, _c("key", "machine", "ca"), frozenset({"private-key-base64"}),
            "a Talos machine config's ca.key"),
    Example("LS0tLS1CRUdJTiBSU0EgUFJJ...", _c("tls.key", "data"), frozenset(),
            "truncated in documentation"),
    Example(_CERT_B64, _c("tls.crt", "data"), frozenset(), "a certificate is public"),
    # Stand-ins: placeholders and vendor defaults, also once decoded.
    Example("cGFzc3dvcmQ=", _c("mqtt-password", "data"), frozenset(),
            "base64 of the word password"),
    Example("Y2hhbmdlIG1lCg==", _c("session_secret", "data"), frozenset(),
            "base64 of 'change me' and a newline"),
    Example("changeit", _c("trustStorePassword", "stringData"), frozenset(),
            "the JDK keystore default, guarding public CA certificates"),
    Example("Y2hhbmdlaXQ=", _c("keyStorePassword", "data"), frozenset(), "changeit, in base64"),
    Example("fake", _c("password"), frozenset(), "literally fake"),
    Example("dummy", _c("token"), frozenset(), "literally dummy"),
    Example("example-password", _c("password"), frozenset(), "a placeholder prefix"),
    Example("ZXhhbXBsZS1rZXljbG9hay1MNm8yWXV1eVRPRmw0WWFtTEtHWmZVVVU0enFMSTMwU3NraGN0a0ZaXy1NPQ==",
            _c("POSTGRES_PASSWORD", "data"), frozenset({"generic-secret"}),
            "base64 of a random token behind an example- prefix: a generated password"),
    Example("c3NvYWRtaW4=", _c("ADMIN_PASSWORD", "data"), frozenset({"generic-secret"}),
            "base64 of a real (if weak) password"),
    Example("https://USERNAME:PASSWORD@github.com/org/repo", _c("url"), frozenset(),
            "upper-case stand-ins"),
    Example("https://user:pass@git.example.com/repo", _c("repoURL"), frozenset(),
            "a documentation credential"),
    Example("postgres://{{.user}}:{{.password}}@db:5432/app", _c("DATABASE_URL"), frozenset(),
            "an ExternalSecret template"),
    Example("redis://default:Xk3Vw5Ju@redis:6379", _c("url"), frozenset({"basic-auth-url"}),
            "a short real password is still the password part"),
    Example("5e9326ee-ac8d-40bf-9060-e91dbe9d9000", _c("secret", "client"),
            frozenset({"generic-secret"}), "an OIDC client secret that is a UUID"),
    Example("wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "Q7Lr2ZxP9v", _c("secretKey", "aws", "credentials"),
            frozenset({"generic-secret"}), "an S3 secret key outside an ExternalSecret"),
    Example("Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe", _c("secret_key", "minio"),
            frozenset({"generic-secret"}), "MinIO's secret_key"),
    Example("GRAFANA_SSO_CLIENT_SECRET", _c("secretKey", "spec", "data", 0), frozenset(),
            "ESO data[].secretKey names a key"),
    Example("github_app_installation_id", _c("secretKey"), frozenset(), "a key name, not random"),
    Example("wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "Q7Lr2ZxP9v",
            Context(key="secretKey", key_path=("spec", "data", 0, "secretKey"),
                    kind="ExternalSecret"), frozenset(), "inside an ExternalSecret"),
    Example("costs $6$ per unit", _c("description"), frozenset(), "prose with dollars"),
    # Sealed Secrets ciphertext outside `encryptedData` (a commented-out SealedSecret).
    Example(_sealed(0x00), _c("AWS_SECRET_ACCESS_KEY"), frozenset(), "sealed ciphertext, AgA"),
    Example(_sealed(0x80), _c("RESTIC_PASSWORD"), frozenset(), "sealed ciphertext, AgC"),
    Example(_sealed(0xC0, size=256), _c("password"), frozenset(),
            "sealed with a 2048-bit key, AQD"),
    Example(_sealed(0x00, body=160), _c("password"), frozenset({"generic-secret"}),
            "AgA-prefixed but too short for a 512-byte RSA part"),
    # Environment placeholders in URLs and values.
    Example("rtsp://{FRIGATE_RTSP_USER}:{FRIGATE_RTSP_PASSWORD}@192.168.1.10:554/cam/realmonitor"
            "?channel=1", _c("path", "ffmpeg", "inputs", 0), frozenset(),
            "Frigate substitutes {FRIGATE_*} variables"),
    Example("rtsp://{FRIGATE_CAM_USER}:{FRIGATE_CAM_PASSWORD}@{FRIGATE_CAM_HOST}:554/"
            "h264Preview_01_main", _c(None, "go2rtc", "streams", "doorbell", 0), frozenset(),
            "host too, beside a literal path"),
    Example("rtsp://admin:Xk3Vw5Ju9q@192.168.1.10:554/cam", _c("path", "ffmpeg", "inputs", 0),
            frozenset({"basic-auth-url"}), "a literal camera password"),
    Example("https://ci:$GIT_PASSWORD@git.example.com/org/repo.git", _c("url"), frozenset(),
            "a shell variable"),
    Example("%(db_password)s", _c("password", "database"), frozenset(), "Python %-formatting"),
    Example("{DB_PASSWORD}", _c("password", "database"), frozenset(), "a single-brace variable"),
    Example("x{ab}Q7LrZxP9vKm4TnW8cYb", _c("password"), frozenset({"generic-secret"}),
            "a literal beside a placeholder is still a literal"),
    Example("env:SONARR_POSTGRES_CONN_STR", _c("dsn", "databases", "sonarr"), frozenset(),
            "read from an environment variable"),
    Example("env:postgres://app:Vx8qL2mZ9rT4@db:5432/app", _c("dsn", "databases"),
            frozenset({"basic-auth-url"}), "a literal URL after env: is still a literal"),
    Example("${{ secrets.DB_PASSWORD }}", _c("password", "env"), frozenset(),
            "a GitHub Actions expression"),
    Example("{{ .Values.auth.clientSecret | b64enc }}", _c("clientSecret", "data"), frozenset(),
            "a Helm template with a pipeline"),
    Example("cert-manager/cert-manager-webhook-ca", _c("cert-manager.io/inject-ca-from-secret"),
            frozenset(), "a namespace/name reference"),
    Example('os.environ.get("PLEX_API",', Context(key="TOKEN", embedded="ini"), frozenset(),
            "code in a script block"),
    Example("-----BEGIN RSA PRIVATE KEY-----", Context(key=None, embedded="comment"),
            frozenset(), "a PEM header named in a comment"),
    # Third hand-labelled set (benchmarks/third-set-labels.tsv): references, placeholders and
    # non-secrets under secret-ish keys.
    Example("os.environ/OPENAI_API_KEY_2", _c("api_key", "litellm_params"), frozenset(),
            "LiteLLM reads the key from an environment variable"),
    Example("os.environ/sk-Q7Lr2ZxP9vKm4-TnW8cYb", _c("api_key", "litellm_params"),
            frozenset({"generic-secret"}), "not a variable name after os.environ/"),
    Example("YourSecurePasswordHere", _c("adminPassword", "grafana"), frozenset(),
            "a CamelCase placeholder phrase"),
    Example("PutYourTokenHere", _c("token"), frozenset(), "a CamelCase placeholder phrase"),
    Example("Yourself2024", _c("adminPassword", "grafana"), frozenset({"generic-secret"}),
            "a real (weak) password that starts with Your"),
    Example("c3VwZXJzZWNyZXQK", _c("password", "data"), frozenset(),
            "base64 of the demo word supersecret and a newline"),
    Example("c3VwZXJzZWNyZXQxMjM=", _c("password", "data"), frozenset({"generic-secret"}),
            "base64 of supersecret123: a (weak) password, not the demo word"),
    Example("\\b(Pod|Deployment|Service)s?\\b", _c("token"), frozenset(),
            "a linter rule's regular expression"),
    Example("q7Lr2Z$xP9v?Km4|TnW8cYb", _c("token"), frozenset({"generic-secret"}),
            "regex metacharacters without a class escape"),
    Example("0123456789abcdef" * 4, _c("obot_encryption_key"), frozenset(),
            "a made-up run of the hex digits"),
    Example("lf_sk_test1234567890abcdef", _c("langfuse_secret_key"), frozenset(),
            "a test value typed by a person"),
    Example("preferred_username", _c("id_token", "claims_policies", "app"), frozenset(),
            "a claim name listed under id_token"),
    Example("authentik_crypto.certificatekeypair", _c("signing_key", "attrs"), frozenset(),
            "a model name in an authentik blueprint"),
    Example("correct_horse_battery", _c("password"), frozenset({"generic-secret"}),
            "lower-case words under a password key: a passphrase"),
    Example("__ADGUARD_PASSWORD_HASH__", _c("password", "users", 0), frozenset(),
            "a token a setup script replaces"),
    Example("amqp://guest:guest@rabbitmq", _c("value", env="AMQP_URI"), frozenset(),
            "the default login of a local service, spelled twice"),
    Example("amqp://guest:Xk3Vw5Ju9q@rabbitmq", _c("value", env="AMQP_URI"),
            frozenset({"basic-auth-url"}), "a real password beside the default user"),
    # Upstream charts' values files (a vendored chart carries its documentation).
    Example("secret:argocd/registry-creds#creds", _c("credentials", "registries", 0), frozenset(),
            "Argo CD Image Updater: a Secret's field"),
    Example("pullsecret:argocd/ghcr-pull", _c("credentials", "registries", 0), frozenset(),
            "Argo CD Image Updater: a pull secret"),
    Example("ext:/scripts/ecr-login.sh", _c("credentials", "registries", 0), frozenset(),
            "Argo CD Image Updater: a script that prints the credentials"),
    Example("secret:Q7Lr2ZxP9vKm4TnW8cYb", _c("credentials"), frozenset({"generic-secret"}),
            "no namespace/name after secret:, a literal"),
    Example("common-library/storage/types/secret.md", _c("Secret", "nav"), frozenset(),
            "a documentation page's path"),
    Example("glpat-" + "x" * 20, _c("token", "gitlab"), frozenset(),
            "a token's prefix and a run of one symbol: a placeholder"),
)


def _specific() -> tuple[Detector, ...]:
    import importlib

    out: list[Detector] = []
    for name in ("tailscale", "auth0", "cloudflare", "telegram"):
        out.extend(importlib.import_module(f"secretsync.detectors.{name}").DETECTORS)
    return tuple(out)


class GenericSecretPlugin(LinePlugin):
    secret_type = "Secret under a secret-ish key (secretsync)"
    # Defers to the provider detectors as in a secretsync scan, so that a Tailscale key under
    # `authKey` is reported by the Tailscale plugin only.
    detector = GenericDetectors(
        GenericSettings(disabled=GENERIC_IDS - {GENERIC_SECRET_ID}), specific=_specific()
    ).detectors[-1]


class PasswordHashPlugin(LinePlugin):
    secret_type = "Password hash (secretsync)"
    detector = PASSWORD_HASH


class PrivateKeyBase64Plugin(LinePlugin):
    secret_type = "Base64-encoded private key (secretsync)"
    detector = PRIVATE_KEY_B64
