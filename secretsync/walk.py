"""Which files a scan reads: YAML and Helm templates below the given roots.

Never follows a directory symlink (no loops); follows a file symlink only when its target lies
inside the scanned root. Everything passed over is reported, never silently dropped.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from secretsync.errors import UsageError

YAML_SUFFIXES = (".yaml", ".yml")
TEMPLATE_SUFFIXES = (".tpl", ".txt", ".yaml", ".yml", ".json")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".terraform", ".venv", "__pycache__"})
DEFAULT_MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    """Absolute path to read."""
    rel: str
    """Relative to the scan base, `/`-separated: what every output shows."""
    template: bool
    """A Helm template: text with `{{ }}`, never parsed as YAML."""


@dataclass(frozen=True, slots=True)
class Skipped:
    rel: str
    reason: str


def _is_template(rel: str) -> bool:
    parts = rel.split("/")
    return "templates" in parts[:-1] and rel.endswith(TEMPLATE_SUFFIXES)


def _wanted(rel: str) -> bool:
    return rel.endswith(YAML_SUFFIXES) or _is_template(rel)


def scan_base(roots: Sequence[Path]) -> Path:
    """The directory that output paths are relative to: the common parent of all roots."""
    dirs = [r if r.is_dir() else r.parent for r in (p.resolve() for p in roots)]
    return Path(os.path.commonpath([str(d) for d in dirs]))


def walk(
    roots: Sequence[Path],
    *,
    excludes: Sequence[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[Path, list[SourceFile], list[Skipped]]:
    """List the files to scan, sorted, and those passed over with the reason."""
    for r in roots:
        if not r.exists() and not r.is_symlink():
            raise UsageError(f"no such file or directory: {r}")
    base = scan_base(roots)
    files: dict[str, SourceFile] = {}
    skipped: list[Skipped] = []

    def excluded(rel: str) -> bool:
        return any(
            fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, pat.rstrip("/") + "/*")
            for pat in excludes
        )

    def consider(path: Path, root: Path, explicit: bool) -> None:
        rel = path.resolve().relative_to(base).as_posix() if not path.is_symlink() else (
            path.absolute().relative_to(base).as_posix()
            if path.absolute().is_relative_to(base)
            else path.name
        )
        if not explicit and (not _wanted(rel) or excluded(rel)):
            return
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root.resolve()):
                skipped.append(Skipped(rel, "symlink pointing outside the scanned tree"))
                return
            if not target.exists():
                skipped.append(Skipped(rel, "broken symlink"))
                return
        try:
            st = path.stat()
        except OSError as exc:
            skipped.append(Skipped(rel, f"cannot stat: {exc.strerror}"))
            return
        if not path.is_file():
            return
        if st.st_size > max_bytes:
            skipped.append(
                Skipped(rel, f"larger than the {max_bytes} byte limit (--max-file-size)"))
            return
        files.setdefault(rel, SourceFile(path, rel, _is_template(rel)))

    for root in roots:
        root_dir = root if root.is_dir() else root.parent
        if root.is_file() or (root.is_symlink() and not root.is_dir()):
            consider(root, root_dir, explicit=True)
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            d = Path(dirpath)
            keep = []
            for name in sorted(dirnames):
                sub = d / name
                if name in SKIP_DIRS:
                    continue
                if sub.is_symlink():
                    rel = sub.absolute().relative_to(base).as_posix()
                    skipped.append(Skipped(rel, "directory symlink not followed"))
                    continue
                rel = sub.relative_to(base).as_posix() if sub.is_relative_to(base) else name
                if excluded(rel):
                    continue
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                consider(d / name, root, explicit=False)
    return base, [files[k] for k in sorted(files)], skipped

