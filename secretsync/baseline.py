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
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from secretsync.errors import ConfigError
from secretsync.models import Finding

VERSION = 1
KDF = {"name": "scrypt", "n": 2**15, "r": 8, "p": 1, "dklen": 16}


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
        entries = {
            Entry(f.path, _place(f), f.detector, self.value_hash(f.detector, f.value))
            for f in findings
        }
        b = Baseline(self.salt, sorted(entries, key=lambda e: (e.path, e.place, e.detector)),
                     self.kdf)
        b._cache = self._cache
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
        if kdf.get("name") != "scrypt":
            raise ConfigError(f"unsupported baseline hash in {path}: only scrypt")
        salt = bytes.fromhex(str(kdf.pop("salt")))
        # Refuse parameters that would make hashing either trivial or a denial of service.
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if not (2**14 <= n <= 2**18 and 1 <= r <= 16 and 1 <= p <= 4 and len(salt) >= 16):
            raise ConfigError(f"baseline {path} has unsafe hash parameters")
        entries = [
            Entry(str(e["path"]), str(e["place"]), str(e["detector"]), str(e["value_hash"]))
            for e in raw["entries"]
        ]
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(f"baseline {path} is malformed") from None
    return Baseline(salt, entries, kdf)


def save(baseline: Baseline, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(baseline.dump(), encoding="utf-8")
    os.replace(tmp, path)
