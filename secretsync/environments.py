"""Environments from paths, overlays, and the env leak (seed 2.2).

A file names its environment in its path (`values-prd.yaml`, `postgres-prd-defaults.yaml`,
`overlays/prd/`, `apps/dev/`). A file with none is a base: it belongs to each environment that
overlays it without overriding the value (a Helm chart's `values-<env>.yaml`, a Kustomize overlay
that lists it under `resources`), or, when nothing overlays it, to every environment of the tree.
A dev-looking value that a non-dev environment inherits that way is an env leak.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from secretsync.detection import KeyPath
from secretsync.documents import Document, ParsedFile
from secretsync.models import Finding
from secretsync.walk import KUSTOMIZATION_NAMES

DEFAULT_ALIASES: Mapping[str, str] = {
    "dev": "dev", "develop": "dev", "development": "dev",
    "stg": "stg", "stage": "stg", "staging": "stg",
    "prd": "prd", "prod": "prd", "production": "prd",
    "qa": "qa", "uat": "uat", "test": "test", "sandbox": "sandbox",
}
DEV_ENVS = frozenset({"dev", "test", "sandbox"})
_SPLIT = re.compile(r"[-_.]")


@dataclass(frozen=True, slots=True)
class EnvRules:
    aliases: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))
    overrides: tuple[tuple[str, str], ...] = ()
    """(glob, environment) pairs checked first, from the configuration."""
    dev_envs: frozenset[str] = DEV_ENVS


def path_env(rel: str, rules: EnvRules) -> str | None:
    """The environment a path names; the file name wins over its directories."""
    # String splits, not PurePosixPath: this runs for every file of the tree (`rel` is
    # already normalized and `/`-separated).
    for pattern, env in rules.overrides:
        # fnmatch's `*` crosses `/`, so `live/**` and `live/*` both cover a whole subtree.
        if fnmatch.fnmatchcase(rel, pattern):
            return env
    directory, _, name = rel.rpartition("/")
    return _name_env(name, _dir_env(directory, rules), rules)


def _dir_env(directory: str, rules: EnvRules) -> str | None:
    found = None
    for part in directory.split("/") if directory else ():
        if part.lower() in rules.aliases:
            found = rules.aliases[part.lower()]
    return found


def _name_env(name: str, found: str | None, rules: EnvRules) -> str | None:
    stem = name.rsplit(".", 1)[0]
    for tok in _SPLIT.split(stem.lower()):
        if tok in rules.aliases:
            found = rules.aliases[tok]
    return found


def _overridden(doc_paths: Iterable[Document], key_path: KeyPath) -> bool:
    """Does an overlay document set this key path, or replace a list on the way to it?"""
    for d in doc_paths:
        if key_path in d.paths:
            return True
        for i in range(1, len(key_path)):
            if key_path[:i] in d.seq_paths:
                return True
    return False


@dataclass(frozen=True, slots=True)
class Overlay:
    env: str
    file: str
    """The values file or kustomization that overlays the base."""
    patches: tuple[str, ...]
    """Files whose documents may override the base (Helm: the values file itself)."""
    match_kind: bool
    """Kustomize patches apply to the document of the same kind and name."""


class EnvResolver:
    """Answers which environments a finding reaches, and whether that is a leak."""

    def __init__(
        self,
        rels: Sequence[str],
        load: Callable[[str], ParsedFile | None],
        rules: EnvRules | None = None,
    ) -> None:
        self.rules = rules or EnvRules()
        self._load = load
        self._rels = set(rels)
        self.file_env = self._file_envs(rels)
        envs = {e for e in self.file_env.values() if e}
        self.tree_envs: tuple[str, ...] = tuple(sorted(envs)) or ("dev", "prd", "stg")
        self._all = rels
        self._overlays: dict[str, list[Overlay]] | None = None

    @property
    def overlays(self) -> dict[str, list[Overlay]]:
        """Which values files and kustomizations overlay each base file: worked out on first
        use (it reads the tree's kustomizations), which a scan that found nothing never makes."""
        if self._overlays is None:
            self._overlays = {}
            self._helm_overlays(self._all)
            self._kustomize_overlays(self._all)
        return self._overlays

    def _file_envs(self, rels: Sequence[str]) -> dict[str, str | None]:
        """`path_env` of every file, each directory's part worked out once (the files of a
        tree are many to a directory)."""
        rules = self.rules
        if rules.overrides:
            return {r: path_env(r, rules) for r in rels}
        by_dir: dict[str, str | None] = {}
        out: dict[str, str | None] = {}
        for r in rels:
            directory, _, name = r.rpartition("/")
            if directory not in by_dir:
                by_dir[directory] = _dir_env(directory, rules)
            out[r] = _name_env(name, by_dir[directory], rules)
        return out

    def _helm_overlays(self, rels: Sequence[str]) -> None:
        by_dir: dict[str, list[str]] = {}
        for r in rels:
            by_dir.setdefault(r.rpartition("/")[0] or ".", []).append(r)
        for d, names in by_dir.items():
            base = f"{d}/values.yaml" if d != "." else "values.yaml"
            if base not in self._rels:
                continue
            for r in names:
                name = r.rpartition("/")[2]
                m = re.fullmatch(r"values[-_.](.+)\.ya?ml", name)
                if m and self.file_env.get(r):
                    env = self.file_env[r]
                    assert env is not None
                    self.overlays.setdefault(base, []).append(Overlay(env, r, (r,), False))

    def _kustomize_overlays(self, rels: Sequence[str]) -> None:
        kusts = [r for r in rels if r.endswith(KUSTOMIZATION_NAMES)
                 and r.rpartition("/")[2] in KUSTOMIZATION_NAMES]
        for k in kusts:
            env = self.file_env.get(k)
            if not env:
                continue
            kdir = PurePosixPath(k).parent
            pf = self._load(k)
            if pf is None:
                continue
            res = self._list(pf, "resources") + self._list(pf, "bases")
            patches = tuple(
                _norm(kdir / p) for p in self._list(pf, "patchesStrategicMerge")
                + self._list(pf, "patches", "path")
            )
            for base_file in self._resolve(kdir, res, depth=0):
                if self.file_env.get(base_file) is None:
                    self.overlays.setdefault(base_file, []).append(Overlay(env, k, patches, True))

    @staticmethod
    def _list(pf: ParsedFile, key: str, sub: str | None = None) -> list[str]:
        out = []
        for s in pf.scalars:
            kp = s.ctx.key_path
            listed = sub is None and len(kp) == 2 and isinstance(kp[1], int)
            if kp and kp[0] == key and (listed or (len(kp) == 3 and kp[2] == sub)):
                out.append(s.value)
        return out

    def _resolve(self, kdir: PurePosixPath, entries: Sequence[str], depth: int) -> list[str]:
        out: list[str] = []
        if depth > 20:
            return out
        for e in entries:
            target = _norm(kdir / e)
            if target in self._rels:
                out.append(target)
                continue
            for name in KUSTOMIZATION_NAMES:
                sub = f"{target}/{name}"
                if sub in self._rels:
                    pf = self._load(sub)
                    if pf is not None:
                        out.append(sub)
                        sdir = PurePosixPath(target)
                        out.extend(self._resolve(sdir, self._list(pf, "resources"), depth + 1))
        return out

    def resolve(self, f: Finding, is_dev: Callable[[str, str], bool]) -> list[Finding]:
        """The finding with its environments, plus an `env-leak` finding per leaking env."""
        own = self.file_env.get(f.path)
        if own:
            return [replace(f, environments=(own,))]
        overlays = self.overlays.get(f.path)
        if not overlays:
            return [replace(f, environments=self.tree_envs)]
        envs: list[str] = []
        leaks: list[Finding] = []
        for ov in overlays:
            if self._overlay_overrides(ov, f):
                continue
            envs.append(ov.env)
            if ov.env not in self.rules.dev_envs and is_dev(f.detector, f.value):
                leaks.append(replace(
                    f, detector="env-leak", environments=(ov.env,),
                    message=(f"dev-looking {f.detector} value in a base file that {ov.env} "
                             f"inherits without an override ({ov.file})"),
                ))
        envs = sorted(set(envs))
        return [replace(f, environments=tuple(envs)), *leaks]

    def _overlay_overrides(self, ov: Overlay, f: Finding) -> bool:
        base_doc = None
        if ov.match_kind:
            pf = self._load(f.path)
            if pf is not None:
                base_doc = next((d for d in pf.documents if d.index == f.doc), None)
        for p in ov.patches:
            pf = self._load(p)
            if pf is None:
                continue
            docs = list(pf.documents)
            if ov.match_kind and base_doc is not None:
                docs = [d for d in docs if d.kind == base_doc.kind and d.name == base_doc.name]
            if _overridden(docs, f.key_path):
                return True
        return False


def _norm(p: PurePosixPath) -> str:
    parts: list[str] = []
    for part in p.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)
