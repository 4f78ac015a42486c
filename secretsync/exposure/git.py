"""The git plumbing exposure needs, through `git` subprocesses: which commits a history holds,
what each one changed, and the blobs' bytes through ONE `git cat-file --batch` process.

No author name or email is ever read: commits are ids, parents and committer dates only.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from secretsync.errors import UsageError

_NULL_SHA = "0" * 40
_BLOB_MODES = frozenset({"100644", "100755"})
"""Regular files only: a symlink's blob is its target's name, a gitlink is a commit."""


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    blob: str | None
    """The blob the path holds after the commit; None when the commit removed it (or it is no
    longer a regular file)."""
    old: str | None = None
    """The blob the path held before (in the first parent), if any."""
    old_path: str | None = None
    """Where `old` was: this path, or the path a rename or copy came from."""


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    time: int
    """Committer time (seconds since the epoch): orders commits; shown as `date`."""
    date: str
    """Committer date, ISO 8601 with the committer's offset."""
    changes: tuple[Change, ...]
    """Against the first parent (a merge's changes are what it brought to its first parent's
    tree; a root commit's are its whole tree)."""


def _git(repo: Path, *args: str, what: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed (exposure reads history with git)") from None
    if done.returncode != 0:
        # git's own message names refs and paths, never file content.
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"{what}: {detail[-1] if detail else 'git failed'}")
    return done.stdout.decode("utf-8", "surrogateescape")


def repo_root(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"no such file or directory: {path}")
    out = _git(path if path.is_dir() else path.parent, "rev-parse", "--show-toplevel",
               what=f"{path} is not in a git repository")
    return Path(out.strip())


def head(repo: Path) -> str | None:
    """HEAD's commit, or None in a repository without commits."""
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD^{commit}"],
                          capture_output=True, check=False)
    return done.stdout.decode().strip() or None if done.returncode == 0 else None


def commit_date(repo: Path, commit: str) -> str:
    return _git(repo, "show", "-s", "--format=%cI", commit, "--", what="cannot read a commit")\
        .strip()


def check_range(repo: Path, rev_range: str) -> None:
    """A usage error unless `rev_range` is `A..B` (or `A...B`) with both ends commits."""
    if rev_range.startswith("-") or ".." not in rev_range:
        raise UsageError(f"--rev-range {rev_range!r} is not of the form A..B")
    sep = "..." if "..." in rev_range else ".."
    for end in rev_range.split(sep, 1):
        if not end:
            continue
        done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q",
                               "--end-of-options", f"{end}^{{commit}}"],
                              capture_output=True, check=False)
        if done.returncode != 0:
            raise UsageError(f"--rev-range: {end!r} is not a commit in this repository",
                             hint="in CI, fetch the base branch's history (actions/checkout "
                                  "with fetch-depth: 0, or git fetch origin main)")


def boundary(repo: Path, rev_range: str) -> list[str]:
    """The commits just outside the range that its commits grow from (what `A` contributes)."""
    out = _git(repo, "rev-list", "--boundary", rev_range, "--", what="--rev-range")
    return [line[1:] for line in out.splitlines() if line.startswith("-")]


def commits(repo: Path, revs: Sequence[str],
            keep: Callable[[str], bool] = lambda _: True) -> list[Commit]:
    """Every commit `revs` selects, parents before children, with its changes to the paths
    `keep` accepts. Repeated ids and paths are one string each: a long history holds the
    same path and blob in many commits."""
    out = _git(repo, "log", *revs, "--reverse", "--topo-order", "--raw", "-z", "-M",
               "--no-abbrev", "--diff-merges=first-parent", "--no-ext-diff", "--no-textconv",
               "--format=%x01%H %P%x00%ct %cI", "--", what="cannot read the history")
    strings: dict[str, str] = {}
    one = strings.setdefault
    result: list[Commit] = []
    start = out.find("\x01")
    while start >= 0:
        end = out.find("\x01", start + 1)
        chunk = out[start + 1:end if end >= 0 else len(out)]
        start = end
        head_line, _, rest = chunk.partition("\x00")
        shas = [one(x, x) for x in head_line.split()]
        stamp, _, rest = rest.partition("\x00")
        time_s, _, date = stamp.strip().partition(" ")
        changes = _changes(rest.lstrip("\n").split("\x00"), keep, one)
        result.append(Commit(shas[0], tuple(shas[1:]), int(time_s), date, changes))
    return result


def _changes(fields: list[str], keep: Callable[[str], bool],
             one: Callable[[str, str], str]) -> tuple[Change, ...]:
    """`--raw -z` records: `:modes shas status` then one path, or two for a rename or copy (a
    rename is its source removed and its destination added with the source as predecessor)."""
    out: list[Change] = []
    i = 0
    while i + 1 < len(fields):
        parts = fields[i].lstrip(":").split()
        if len(parts) < 5:
            i += 1
            continue
        old_mode, new_mode, old_blob, new_blob, status = parts[:5]
        blob = one(new_blob, new_blob) if new_mode in _BLOB_MODES and new_blob != _NULL_SHA \
            else None
        old = one(old_blob, old_blob) if old_mode in _BLOB_MODES and old_blob != _NULL_SHA \
            else None
        if status[:1] in ("R", "C") and i + 2 < len(fields):
            src, dst = one(fields[i + 1], fields[i + 1]), one(fields[i + 2], fields[i + 2])
            if status[0] == "R" and keep(src):
                out.append(Change(src, None, old, src))
            if keep(dst):
                out.append(Change(dst, blob, old, src))
            i += 3
        else:
            path = fields[i + 1]
            if keep(path):
                path = one(path, path)
                out.append(Change(path, blob, old, path))
            i += 2
    return tuple(out)


def tree(repo: Path, commit: str) -> dict[str, str]:
    """path -> blob of every regular file in the commit's tree."""
    out = _git(repo, "ls-tree", "-r", "-z", "--full-tree", commit, what="cannot list a tree")
    files = {}
    for entry in out.split("\x00"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[0] in _BLOB_MODES and parts[1] == "blob":
            files[path] = parts[2]
    return files


_SMALL_CACHES = ("-c", "core.deltaBaseCacheLimit=8m", "-c", "core.packedGitWindowSize=2m",
                 "-c", "core.packedGitLimit=16m")
"""Reading a history's blobs in history order, git's default caches (96 MB of delta bases, a
GiB of mapped pack) make cat-file the largest process for no speed gain: on onedr0p/home-ops
these limits take it from 104 to 34 MB at the same CPU time."""


class BlobReader:
    """ONE `git cat-file --batch` process for every blob a run reads. Requests are written by a
    thread while the answers are read here, so neither pipe can fill up and stall the other."""

    def __init__(self, repo: Path) -> None:
        self._proc = subprocess.Popen(
            ["git", "-C", str(repo), *_SMALL_CACHES, "cat-file", "--batch"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def read(self, shas: Iterable[str], max_bytes: int) -> Iterator[tuple[str, bytes | None, int]]:
        """(sha, bytes, size) in request order; bytes is None when over `max_bytes` (read and
        dropped, never kept) or missing."""
        todo = list(shas)
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        writer = threading.Thread(target=_write_requests, args=(stdin, todo), daemon=True)
        writer.start()
        done = 0
        try:
            for sha in todo:
                done += 1
                data, size = self._answer(stdout, max_bytes)
                yield sha, data, size
        except GeneratorExit:
            # The caller has what it wanted: the answers still owed are read and dropped, so
            # the next request starts in step.
            for _ in range(len(todo) - done):
                self._answer(stdout, -1)
            raise
        except BaseException:
            self._proc.kill()  # an error or Ctrl-C: this reader is finished
            raise
        finally:
            writer.join()

    @staticmethod
    def _answer(stdout: IO[bytes], max_bytes: int) -> tuple[bytes | None, int]:
        header = stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":  # "<sha> missing"
            return None, 0
        size = int(header[2])
        if size > max_bytes:
            _skip(stdout, size + 1)
            return None, size
        data = stdout.read(size)
        stdout.read(1)
        return data, size

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self._proc.kill()
        self.close()


def _write_requests(stdin: IO[bytes], shas: list[str]) -> None:
    try:
        stdin.write("".join(f"{s}\n" for s in shas).encode())
        stdin.flush()
    except (BrokenPipeError, ValueError):
        pass  # the reader stopped early (Ctrl-C, an error): nothing more to ask


def _skip(stream: IO[bytes], n: int) -> None:
    while n > 0:
        chunk = stream.read(min(n, 1 << 20))
        if not chunk:
            return
        n -= len(chunk)
