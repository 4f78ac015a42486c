"""The baseline: accepted findings, matched by place and value, never by line.

An entry holds the file, the key path (or the key text on a text line), the detector, and a
memory-hard hash of the value: scrypt (N=2^15, r=8: 32 MiB and ~80 ms a guess on this class of
machine) under a random salt of the baseline's own. A 6-hex tailnet id has 16.7 million
candidates: about 15 core-days per baseline, and a precomputed table is useless across baselines.
Nothing in the file is a value, a prefix of one, or an unsalted hash.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from secretsync.errors import ConfigError
from secretsync.models import Finding

VERSION = 1
KDF = {"name": "scrypt", "n": 2**15, "r": 8, "p": 1, "dklen": 16}
_MIN_KDF_MEMORY, _MAX_KDF_MEMORY = 16 * 1024 * 1024, 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    place: str
    detector: str
    value_hash: str


def _place(f: Finding) -> str:
    return f.key_path_dotted or f"~{f.context}"


class Baseline:
    def __init__(self, salt: bytes, entries: Iterable[Entry], kdf: dict[str, object] | None = None):
        self.salt = salt
        self.kdf = dict(kdf or KDF)
        self.entries = list(entries)
        self._places = {(e.path, e.place, e.detector) for e in self.entries}
        self._full = {(e.path, e.place, e.detector, e.value_hash) for e in self.entries}
        self._cache: dict[tuple[str, str], str] = {}

    @classmethod
    def new(cls) -> Baseline:
        return cls(secrets.token_bytes(16), [])

    def value_hash(self, detector: str, value: str) -> str:
        key = (detector, value)
        if key not in self._cache:
            n, r, p, dk = (int(str(self.kdf[k])) for k in ("n", "r", "p", "dklen"))
            digest = hashlib.scrypt(
                f"{detector}\0{value}".encode(), salt=self.salt, n=n, r=r, p=p,
                maxmem=256 * 1024 * 1024, dklen=dk,
            )
            self._cache[key] = digest.hex()
        return self._cache[key]

    def contains(self, f: Finding) -> bool:
        """True when this exact value was accepted at this place. A value hash is computed only
        for findings at a baselined place, so a clean baseline costs nothing."""
        place = (f.path, _place(f), f.detector)
        if place not in self._places:
            return False
        return (*place, self.value_hash(f.detector, f.value)) in self._full

    def updated(self, findings: Sequence[Finding]) -> Baseline:
        """A baseline of `findings`, always under a fresh salt and the default parameters
        (whatever this one was loaded with)."""
        fresh = Baseline.new()
        entries = {
            Entry(f.path, _place(f), f.detector, fresh.value_hash(f.detector, f.value))
            for f in findings
        }
        b = Baseline(fresh.salt, sorted(entries, key=lambda e: (e.path, e.place, e.detector)),
                     fresh.kdf)
        b._cache = fresh._cache
        return b

    def dump(self) -> str:
        return json.dumps({
            "version": VERSION,
            "generated_by": "secretsync",
            "kdf": {**self.kdf, "salt": self.salt.hex()},
            "entries": [
                {"path": e.path, "place": e.place, "detector": e.detector,
                 "value_hash": e.value_hash}
                for e in self.entries
            ],
        }, indent=2) + "\n"


def _kdf_params(kdf: dict[str, object], salt: bytes, path: Path) -> None:
    """Refuse parameters that make hashing trivial, a denial of service, or a crash: each an
    int in range, scrypt's n a power of two, 16 to 64 MiB a hash (128*n*r bytes), and a salt
    long and varied enough to have come from a random source."""
    bounds = {"n": (2**14, 2**18), "r": (1, 16), "p": (1, 4), "dklen": (16, 64)}
    for k, (lo, hi) in bounds.items():
        v = kdf.get(k)
        if type(v) is not int or not lo <= v <= hi:
            raise ConfigError(f"baseline {path}: kdf.{k} must be an integer from {lo} to {hi}")
    n, r = kdf["n"], kdf["r"]
    assert isinstance(n, int) and isinstance(r, int)
    if n & (n - 1) or not _MIN_KDF_MEMORY <= 128 * n * r <= _MAX_KDF_MEMORY:
        raise ConfigError(f"baseline {path}: kdf.n must be a power of two and 128*n*r from "
                          f"{_MIN_KDF_MEMORY >> 20} to {_MAX_KDF_MEMORY >> 20} MiB")
    if not 16 <= len(salt) <= 64 or len(set(salt)) < len(salt) // 2:
        raise ConfigError(f"baseline {path}: the salt must be 16 to 64 random bytes")


def load(path: Path) -> Baseline:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"baseline not found: {path}",
                          hint="create one with --update-baseline") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read baseline {path}: {type(exc).__name__}") from None
    try:
        if raw.get("version") != VERSION:
            raise ConfigError(f"unsupported baseline version in {path}")
        kdf = dict(raw["kdf"])
        if kdf.pop("name", None) != "scrypt" or set(kdf) != {"n", "r", "p", "dklen", "salt"}:
            raise ConfigError(f"unsupported baseline hash in {path}: only scrypt with n, r, p, "
                              "dklen and salt")
        salt = bytes.fromhex(str(kdf.pop("salt")))
        _kdf_params(kdf, salt, path)
        entries = [
            Entry(str(e["path"]), str(e["place"]), str(e["detector"]), str(e["value_hash"]))
            for e in raw["entries"]
        ]
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(f"baseline {path} is malformed") from None
    return Baseline(salt, entries, {"name": "scrypt", **kdf})


def save(baseline: Baseline, path: Path) -> None:
    from secretsync.rewrite import atomic_write

    atomic_write(path, baseline.dump().encode("utf-8"))
