"""Which files a scan reads: YAML and Helm templates below the given roots.

Never follows a directory symlink (no loops); follows a file symlink only when its target lies
inside the scanned root. Everything passed over is reported, never silently dropped.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from secretsync.errors import UsageError

YAML_SUFFIXES = (".yaml", ".yml")
TEMPLATE_SUFFIXES = (".tpl", ".txt", ".yaml", ".yml", ".json")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".terraform", ".venv", "__pycache__"})
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml")


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str | os.PathLike[str]
    """Absolute path to read. The walk gives a str: a Path per file cost about 350 bytes
    (a third of a large tree's scan memory) and a parse each time it was pickled to a
    worker."""
    rel: str
    """Relative to the scan base, `/`-separated: what every output shows."""
    template: bool
    """A Helm template: text with `{{ }}`, never parsed as YAML."""
    size: int = 0
    """Bytes, as the walk saw them (for progress)."""

    def read(self) -> bytes:
        # One read of the size the walk saw, and one byte more (a file that grew is read to
        # its end): `open(...).read()` also asked the file's size again and read once more
        # to see the end, two system calls of five on each of a tree's files.
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
        try:
            data = os.read(fd, self.size + 1)
            if len(data) == self.size:
                return data
            chunks = [data]
            while chunk := os.read(fd, max(self.size, 1 << 16)):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class Skipped:
    rel: str
    reason: str


def _is_template(rel: str) -> bool:
    parts = rel.split("/")
    return "templates" in parts[:-1] and rel.endswith(TEMPLATE_SUFFIXES)


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
    base_s = str(base)
    files: dict[str, SourceFile] = {}
    skipped: list[Skipped] = []

    def rel_of(path: str) -> str:
        return os.path.relpath(path, base_s).replace(os.sep, "/")

    def excluded(rel: str) -> bool:
        return bool(excludes) and any(
            fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, pat.rstrip("/") + "/*")
            for pat in excludes
        )

    def add_file(path: str, rel: str, root_real: str, is_link: bool,
                 template: bool | None = None) -> None:
        if is_link:
            target = os.path.realpath(path)
            if os.path.commonpath([target, root_real]) != root_real:
                skipped.append(Skipped(rel, "symlink pointing outside the scanned tree"))
                return
            if not os.path.exists(target):
                skipped.append(Skipped(rel, "broken symlink"))
                return
        try:
            st = os.stat(path)
        except OSError as exc:
            skipped.append(Skipped(rel, f"cannot stat: {exc.strerror}"))
            return
        if not stat.S_ISREG(st.st_mode):
            return
        if st.st_size > max_bytes:
            skipped.append(
                Skipped(rel, f"larger than the {max_bytes} byte limit (--max-file-size)"))
            return
        if template is None:
            template = _is_template(rel)
        files.setdefault(rel, SourceFile(path, rel, template, st.st_size))

    def visit(top: str, root_real: str) -> None:
        # An explicit stack, not recursion: a hostile tree may nest deeper than Python's
        # recursion limit. Each directory carries its relative path, so a file's is one
        # concatenation (os.path.relpath per file was a tenth of a scan's time).
        top_rel = rel_of(top)
        stack = [(top, "" if top_rel == "." else top_rel + "/")]
        while stack:
            directory, prefix = stack.pop()
            try:
                # Unsorted: the files are sorted once at the end, and the skipped ones too.
                with os.scandir(directory) as it:
                    entries = list(it)
            except OSError as exc:
                skipped.append(Skipped(rel_of(directory), f"cannot list: {exc.strerror}"))
                continue
            # Most entries are directories or files no scan wants: their names are enough
            # (the entry's type comes with the listing, no system call).
            in_templates = "templates" in prefix.split("/")
            for e in entries:
                name = e.name
                if e.is_dir(follow_symlinks=False):
                    if name not in SKIP_DIRS and not excluded(prefix + name):
                        stack.append((e.path, prefix + name + "/"))
                    continue
                link = e.is_symlink()
                if link and os.path.isdir(e.path):
                    # Never followed: no loops, nothing outside the tree by the back door.
                    skipped.append(Skipped(prefix + name, "directory symlink not followed"))
                    continue
                template = in_templates and name.endswith(TEMPLATE_SUFFIXES)
                if (template or name.endswith(YAML_SUFFIXES)) and not excluded(prefix + name):
                    add_file(e.path, prefix + name, root_real, link, template)

    for root in roots:
        if root.is_dir():
            real = os.path.realpath(root)
            visit(real, real)
        else:
            # A file named on the command line is scanned whatever its name.
            real_parent = os.path.realpath(root.parent)
            path = os.path.join(real_parent, root.name)
            add_file(path, rel_of(path), real_parent, root.is_symlink())
    return base, [files[k] for k in sorted(files)], sorted(skipped, key=lambda s: s.rel)
