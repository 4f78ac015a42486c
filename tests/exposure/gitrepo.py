"""A real git repository built commit by commit for the exposure tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Identities that must never reach a report (exposure shows commit ids and dates only).
AUTHOR = "Canary Author"
EMAIL = "canary-author@example.invalid"


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": AUTHOR, "GIT_AUTHOR_EMAIL": EMAIL,
               "GIT_COMMITTER_NAME": AUTHOR, "GIT_COMMITTER_EMAIL": EMAIL,
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
        date = f"2024-01-{self._n + 1:02d}T12:00:00+00:00"
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
        done = subprocess.run(["git", "-C", str(self.root), *args], env=env,
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commit(self, files: dict[str, str | None], message: str) -> str:
        """Write (or, for None, delete) files and commit them; returns the commit id. Each
        commit is one day after the previous one."""
        for rel, content in files.items():
            p = self.root / rel
            if content is None:
                p.unlink()
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content, encoding="utf-8")
        self._n += 1
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def date(self, sha: str) -> str:
        return self.git("show", "-s", "--format=%cI", sha)
