"""The equivalence check wired to a tree: the after-tree of a plan (a temporary copy with the
changes written), the before-tree of a git revision, and Doppler's values (in memory only)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from secretsync.doppler.interface import ConfigRef, DopplerAPI
from secretsync.errors import UsageError
from secretsync.remediate.render import Result, Values, equivalence
from secretsync.rewrite import FileChange, write_all


def rels_of(root: Path, excludes: Sequence[str] = ()) -> list[str]:
    from secretsync.scan import ScanOptions, list_files

    _, files, _ = list_files([root], ScanOptions(excludes=tuple(excludes)))
    return [f.rel for f in files]


def has_clusters(root: Path, rels: Sequence[str]) -> bool:
    from secretsync.remediate.graph import build

    return bool(build(root, rels).clusters)


@contextlib.contextmanager
def after_tree(root: Path, changes: Sequence[FileChange]) -> Iterator[Path]:
    """A temporary copy of `root` with `changes` written (root itself is never touched)."""
    with tempfile.TemporaryDirectory(prefix="secretsync-after-") as tmp:
        dest = Path(tmp) / "tree"
        shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        write_all(dest, changes)
        yield dest


@contextlib.contextmanager
def git_tree(root: Path, rev: str) -> Iterator[Path]:
    """The tree at `root` as of git revision `rev`, exported to a temporary directory."""
    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              timeout=120, check=False)

    top = git("rev-parse", "--show-prefix")
    if top.returncode != 0:
        raise UsageError(f"{root} is not in a git repository", hint="pass --offline, or run "
                         "verify inside the repository (the check compares with a revision)")
    prefix = top.stdout.decode().strip()
    if git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode != 0:
        raise UsageError(f"no git revision {rev!r}", hint="pass --against REV")
    with tempfile.TemporaryDirectory(prefix="secretsync-before-") as tmp:
        archive = git("archive", "--format=tar", rev, "--", prefix or ".")
        if archive.returncode != 0:
            raise UsageError(f"cannot read {rev}:{prefix or '.'} from git")
        import io
        import tarfile

        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / prefix if prefix else Path(tmp)


def doppler_values(project: str, api_for: Mapping[str, DopplerAPI] | None,
                   desired: Mapping[ConfigRef, Mapping[str, str]],
                   factory: object = None) -> Values:
    """config -> {name: value}: what Doppler holds (read once per config) under what apply is
    about to push."""
    cache: dict[str, dict[str, str]] = {}

    def values(config: str) -> Mapping[str, str]:
        if config not in cache:
            held: dict[str, str] = {}
            api = None
            if api_for is not None:
                api = api_for.get(config) or api_for.get("*")
            if api is None and callable(factory):
                api = factory(ConfigRef(project, config))
            if api is not None:
                names = sorted(api.secret_names(project, config))
                held = dict(api.get_values(project, config, names)) if names else {}
            held.update(desired.get(ConfigRef(project, config), {}))
            cache[config] = held
        return cache[config]

    return values


def run(before: Path, after: Path, values: Values | None, kubectl: str | None,
        excludes: Sequence[str] = ()) -> Result:
    return equivalence(before, rels_of(before, excludes), after, rels_of(after, excludes),
                       values, kubectl)


def summary(result: Result, limit: int = 10) -> str:
    lines = [str(d) for d in result.differences[:limit]]
    more = len(result.differences) - limit
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)
