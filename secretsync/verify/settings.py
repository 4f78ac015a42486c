"""The `verify:` section of `.secretsync.yaml`: names only, never a value or a token.

```yaml
verify:
  skip: [build]                     # check ids not to run
  external_secrets: [ghcr-pull-secret]   # Secrets something outside the tree creates
  stores:                           # stores that live outside the tree
    doppler-shared: {project: platform, config: prd}
  env_specific: [TELEGRAM_CHAT_ID]  # Doppler names whose production value must differ from dev
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.error import YAMLError

from secretsync import reading
from secretsync.config import CONFIG_FILE, read_text
from secretsync.errors import ConfigError, UsageError
from secretsync.verify.model import CheckId

_DOPPLER_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True, slots=True)
class DeclaredStore:
    name: str
    project: str | None = None
    config: str | None = None


@dataclass(frozen=True, slots=True)
class VerifySettings:
    skip: frozenset[CheckId] = frozenset()
    external_secrets: frozenset[str] = frozenset()
    stores: Mapping[str, DeclaredStore] = field(default_factory=dict)
    env_specific: frozenset[str] = frozenset()


def _names(raw: object, what: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ConfigError(f"{what} must be a list of names")
    return list(raw)


def parse(raw: object, source: str = CONFIG_FILE) -> VerifySettings:
    """Build settings from the `verify:` mapping; `ConfigError` names the bad setting."""
    if raw is None:
        return VerifySettings()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: verify must be a mapping")
    unknown = sorted(str(k) for k in raw if k not in ("skip", "external_secrets", "stores",
                                                       "env_specific"))
    if unknown:
        raise ConfigError(f"{source}: unknown verify setting(s): {', '.join(unknown)}")
    skip: set[CheckId] = set()
    for s in _names(raw.get("skip"), f"{source}: verify.skip"):
        try:
            skip.add(CheckId(s))
        except ValueError:
            raise ConfigError(f"{source}: verify.skip: {s!r} is not a check id",
                              hint="ids: " + ", ".join(CheckId)) from None
    stores: dict[str, DeclaredStore] = {}
    raw_stores = raw.get("stores") or {}
    if isinstance(raw_stores, list):
        raw_stores = {n: {} for n in _names(raw_stores, f"{source}: verify.stores")}
    if not isinstance(raw_stores, Mapping):
        raise ConfigError(f"{source}: verify.stores must map store names to {{project, config}}")
    for name, spec in raw_stores.items():
        spec = spec or {}
        if not isinstance(spec, Mapping) or not all(
            isinstance(spec.get(k), str | None) for k in ("project", "config")
        ):
            raise ConfigError(f"{source}: verify.stores.{name} needs project and config strings")
        stores[str(name)] = DeclaredStore(str(name), spec.get("project"), spec.get("config"))
    env_specific = _names(raw.get("env_specific"), f"{source}: verify.env_specific")
    bad = [n for n in env_specific if not _DOPPLER_NAME.match(n)]
    if bad:
        raise ConfigError(f"{source}: verify.env_specific: {bad[0]!r} is not a Doppler name")
    return VerifySettings(
        frozenset(skip),
        frozenset(_names(raw.get("external_secrets"), f"{source}: verify.external_secrets")),
        stores, frozenset(env_specific),
    )


def load(root: Path, text: str | None = None, source: str | None = None) -> VerifySettings:
    """From `<root>/.secretsync.yaml`, or from `text` (the file as another revision holds it)."""
    path = root / CONFIG_FILE
    if text is None:
        found = read_text(root)  # refuses a symlink out of the tree
        if found is None:
            return VerifySettings()
        path, text = found
    try:
        raw = reading.load(text)
    except YAMLError:
        # config.load already reported a file it cannot read; nothing more to add here.
        return VerifySettings()
    if not isinstance(raw, Mapping):
        return VerifySettings()
    return parse(raw.get("verify"), source or str(path))


def config_at(root: Path, rev: str) -> tuple[str, str]:
    """`.secretsync.yaml` as revision `rev` holds it (the target branch of a pull request, so
    the pull request cannot weaken its own gate): (text, a label saying where it came from). A
    revision without the file gives empty text: the defaults, which weaken nothing."""
    import subprocess

    if not rev or rev.startswith("-") or any(c in rev for c in "\0\n"):
        raise UsageError(f"--config-from: {rev!r} is not a git revision")

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UsageError(f"--config-from needs git ({type(exc).__name__})") from None

    prefix = git("rev-parse", "--show-prefix")
    if prefix.returncode != 0:
        raise UsageError(f"--config-from: {root} is not inside a git work tree")
    if git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
           ).returncode != 0:
        raise UsageError(f"--config-from: no commit {rev!r} in this repository",
                         hint="fetch the target branch first (git fetch origin <branch>)")
    where = f"{prefix.stdout.decode().strip()}{CONFIG_FILE}"
    shown = git("show", f"{rev}:{where}")
    if shown.returncode != 0:
        return "", f"{rev} (no {CONFIG_FILE}: defaults)"
    try:
        return shown.stdout.decode("utf-8"), f"{rev}:{CONFIG_FILE}"
    except UnicodeDecodeError:
        raise ConfigError(f"{rev}:{CONFIG_FILE} is not UTF-8") from None
