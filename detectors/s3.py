"""S3-compatible storage endpoints that embed an account or a bucket (other than Cloudflare R2,
which detectors/cloudflare.py reports): iDrive e2 account hosts, Backblaze B2 and Wasabi
virtual-hosted bucket hosts. A region endpoint alone (`s3.us-west-004.backblazeb2.com`,
`s3.wasabisys.com`) names nobody's account and is not reported. MinIO and other servers with
credentials in the URL are reported by `basic-auth-url`.

Usable as a detect-secrets plugin: `detect-secrets scan --plugin detectors/s3.py FILE`.
No `from __future__ import annotations` in provider modules: detect-secrets loads them by path
without registering them in sys.modules, where dataclasses cannot resolve string annotations.
"""

import re

from secretsync.detection import Context, Detector, Example
from secretsync.detectors._common import Keywords, LinePlugin, PatternDetector

# iDrive e2: `<4-char account code>.<region>.idrivee2-<n>.com`.
_IDRIVE = r"[a-z0-9]{4}\.[a-z]{2,4}[0-9]{0,2}\.idrivee2-[0-9]{1,3}\.com"
# `<bucket>.s3.<region>.backblazeb2.com`, `<bucket>.s3[.<region>].wasabisys.com`.
_BUCKET_HOST = (r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\.s3(?:\.[a-z0-9-]+)?"
                r"\.(?:backblazeb2|wasabisys)\.com")
_NOT_BUCKETS = frozenset({"www", "console", "api", "docs"})


def _bucket_ok(text: str, ctx: Context) -> bool:
    return text.split(".", 1)[0] not in _NOT_BUCKETS


ENDPOINT = PatternDetector(
    id="s3-account-endpoint",
    description="S3-compatible endpoint naming an account or bucket (iDrive e2, B2, Wasabi)",
    prefilter=Keywords(("idrivee2-", ".backblazeb2.com", ".wasabisys.com")),
    pattern=re.compile(rf"(?<![A-Za-z0-9.-])(?:{_IDRIVE}|{_BUCKET_HOST})(?![A-Za-z0-9-])"),
    accept=_bucket_ok,
    quick=".com",
)

DETECTORS: tuple[Detector, ...] = (ENDPOINT,)


def _c(key: str | None = None, *path: str | int) -> Context:
    return Context(key=key, key_path=(*path, key) if key else tuple(path))


EXAMPLES: tuple[Example, ...] = (
    Example("https://f3x8.va.idrivee2-45.com", _c("endpoint", "s3"),
            frozenset({"s3-account-endpoint"}), "an iDrive e2 account host"),
    Example("k2m7.ch.idrivee2-12.com", _c("host"), frozenset({"s3-account-endpoint"}),
            "no scheme"),
    Example("https://homelab-backups.s3.us-west-004.backblazeb2.com", _c("endpoint"),
            frozenset({"s3-account-endpoint"}), "a B2 bucket host"),
    Example("https://velero-k8s.s3.eu-central-2.wasabisys.com", _c("s3Url"),
            frozenset({"s3-account-endpoint"}), "a Wasabi bucket host"),
    Example("q4n8.or.idrivee2-24.com", _c("endpoint", "backup"),
            frozenset({"s3-account-endpoint"})),
    Example("https://c8q1.va03.idrivee2-84.com/bucket", _c("url"),
            frozenset({"s3-account-endpoint"}), "a region with digits, a path"),
    Example("restic -r s3:https://k7m8.la.idrivee2-37.com/restic backup", _c("command"),
            frozenset({"s3-account-endpoint"}), "inside a command line"),
    Example("media-archive.s3.wasabisys.com", _c("host"), frozenset({"s3-account-endpoint"}),
            "a Wasabi bucket host without region"),
    Example("https://s3.us-west-004.backblazeb2.com", _c("endpoint"), frozenset(),
            "a region endpoint"),
    Example("https://s3.wasabisys.com", _c("endpoint"), frozenset(), "a region endpoint"),
    Example("https://w4h8.fra.idrivee2-22.com", _c("endpoint"),
            frozenset({"s3-account-endpoint"}), "a three-letter region"),
    Example("https://www.idrive.com/e2/", _c("docs"), frozenset(), "the vendor's site"),
    Example("https://storage.idrivee2-7.com", _c("endpoint"), frozenset(), "no account code"),
    Example("https://www.backblaze.com/b2/docs/", _c("docs"), frozenset()),
    Example("https://s3.wasabisys.com", _c("endpoint", "velero"), frozenset(),
            "Wasabi's default region endpoint"),
    Example("https://f004.backblazeb2.com/file/x", _c("url"), frozenset(),
            "a download cluster host, shared"),
    Example("https://s3.eu-central-2.wasabisys.com/bucket", _c("endpoint"), frozenset(),
            "a path-style bucket names no account in the host"),
)


class S3AccountEndpointPlugin(LinePlugin):
    secret_type = "S3-compatible account endpoint"
    detector = ENDPOINT
