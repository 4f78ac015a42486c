"""`.secretsync.yaml`: the tree's own settings for plan, apply and rewrite.

Every setting has a default, so the file is optional: environments `dev`/`stg`/`prd` map to the
Doppler root configs of the same name, stores are discovered from the tree, and the project comes
from `--project` or `DOPPLER_PROJECT`. The file never holds a value or a token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.error import YAMLError

from secretsync import reading
from secretsync.documents import yaml_problem
from secretsync.errors import ConfigError

CONFIG_FILE = ".secretsync.yaml"
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DOPPLER_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
VALUE_RULES = ("secret-ref", "manual")


@dataclass(frozen=True, slots=True)
class StoreRef:
    """A (Cluster)SecretStore an ExternalSecret points at."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Config:
    project: str | None = None
    configs: Mapping[str, str] = field(default_factory=dict)
    """Environment -> Doppler config; unlisted environments use the config of the same name."""
    environments: tuple[tuple[str, str], ...] = ()
    """(path glob, environment) overrides for environment inference, checked first."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Key-path regex (full match on the dotted path) -> Doppler name."""
    stores: Mapping[str, StoreRef] = field(default_factory=dict)
    """Environment -> store; unlisted environments use the store discovered in the tree."""
    secret_name: str = "{app}-doppler"
    """Kubernetes Secret name for the references; `{app}` is the chart or release name."""
    value_rule: str = "secret-ref"
    """Non-env values: `secret-ref` (`clientId` -> `clientIdSecretRef: {name, key}`) or `manual`."""
    ref_suffix: str = "SecretRef"
    default_env: str | None = None
    """The environment whose store a multi-environment file without per-env overlays uses."""
    excludes: tuple[str, ...] = ()

    def config_for(self, env: str) -> str:
        return self.configs.get(env, env)

    def secret_for(self, app: str) -> str:
        return self.secret_name.format(app=app)


def load(root: Path, *, project: str | None = None, env: Mapping[str, str] | None = None,
         text: str | None = None, source: str | None = None) -> Config:
    """Read `<root>/.secretsync.yaml` if present (or take its `text` from elsewhere, such as
    another git revision); `project` (a flag) wins over the file, which wins over
    `DOPPLER_PROJECT`."""
    env = os.environ if env is None else env
    cfg = Config()
    if text is not None:
        cfg = parse(text, source=source or str(root / CONFIG_FILE))
    else:
        found = read_text(root)
        if found is not None:
            cfg = parse(found[1], source=str(found[0]))
    chosen = project or cfg.project or (env.get("DOPPLER_PROJECT") or "").strip() or None
    return Config(chosen, cfg.configs, cfg.environments, cfg.names, cfg.stores, cfg.secret_name,
                  cfg.value_rule, cfg.ref_suffix, cfg.default_env, cfg.excludes)


def read_text(root: Path) -> tuple[Path, str] | None:
    """`<root>/.secretsync.yaml` and its text, or None when there is none. A symlink is followed
    only to a file inside the tree: the tree is untrusted, and a link out of it could make any
    readable file the configuration (and its errors quote it)."""
    path = root / CONFIG_FILE
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root.resolve()):
            raise ConfigError(f"{path} is a symlink out of the tree; not read",
                              hint="replace it by the file itself")
    if not path.is_file():
        return None
    try:
        # The scan's limits: a regular file, at most the size limit.
        return path, reading.read_text(path, root=root, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path} ({type(exc).__name__})") from None


def _str_map(raw: object, what: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ConfigError(f"{what} must map strings to strings")
    return dict(raw)


def parse(text: str, *, source: str = CONFIG_FILE) -> Config:
    """Validate and build a Config; `ConfigError` names the bad setting, never a value."""
    try:
        raw = reading.load(text)
    except YAMLError as exc:
        raise ConfigError(f"{source}: {yaml_problem(exc)}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping")
    known = {"version", "project", "configs", "environments", "names", "stores", "secrets",
             "excludes", "verify"}  # verify: read by secretsync.verify.settings
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s): {', '.join(unknown)}")
    version = raw.get("version", 1)
    if type(version) is not int or version != 1:
        raise ConfigError(f"{source}: version must be 1 (the only version this secretsync "
                          "reads)")
    project = raw.get("project")
    if project is not None and not isinstance(project, str):
        raise ConfigError(f"{source}: project must be a string")
    configs = _str_map(raw.get("configs"), f"{source}: configs")
    env_map = _str_map(raw.get("environments"), f"{source}: environments")
    names = _str_map(raw.get("names"), f"{source}: names")
    for pattern, name in names.items():
        if not _DOPPLER_NAME.match(name):
            raise ConfigError(f"{source}: names: {name!r} is not a Doppler secret name")
        try:
            re.compile(pattern)
        except re.error:
            raise ConfigError(f"{source}: names: {pattern!r} is not a regular expression") from None
    stores: dict[str, StoreRef] = {}
    for env_name, spec in (raw.get("stores") or {}).items():
        if isinstance(spec, str):
            spec = {"kind": "ClusterSecretStore", "name": spec}
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise ConfigError(f"{source}: stores.{env_name} needs a name")
        kind = spec.get("kind", "ClusterSecretStore")
        if kind not in ("ClusterSecretStore", "SecretStore"):
            raise ConfigError(f"{source}: stores.{env_name}.kind must be ClusterSecretStore "
                              "or SecretStore")
        stores[str(env_name)] = StoreRef(kind, spec["name"])
    secrets = raw.get("secrets") or {}
    if not isinstance(secrets, Mapping):
        raise ConfigError(f"{source}: secrets must be a mapping")
    secret_name = secrets.get("name", "{app}-doppler")
    if not isinstance(secret_name, str) or not _K8S_NAME.match(
        secret_name.replace("{app}", "app")
    ):
        raise ConfigError(f"{source}: secrets.name must be a Kubernetes name ({{app}} allowed)")
    rule = secrets.get("values", "secret-ref")
    if rule not in VALUE_RULES:
        raise ConfigError(f"{source}: secrets.values must be one of {', '.join(VALUE_RULES)}")
    suffix = secrets.get("ref_suffix", "SecretRef")
    if not isinstance(suffix, str) or not re.fullmatch(r"[A-Za-z0-9_]+", suffix):
        raise ConfigError(f"{source}: secrets.ref_suffix must be letters, digits or _")
    default_env = secrets.get("default_environment")
    if default_env is not None and not isinstance(default_env, str):
        raise ConfigError(f"{source}: secrets.default_environment must be a string")
    excludes = raw.get("excludes") or []
    if not isinstance(excludes, Sequence) or not all(isinstance(e, str) for e in excludes):
        raise ConfigError(f"{source}: excludes must be a list of globs")
    return Config(project, configs, tuple(env_map.items()), names, stores, secret_name, rule,
                  suffix, default_env, tuple(excludes))


def starter(
    project: str | None,
    envs: Sequence[str],
    stores: Mapping[str, StoreRef],
    names: Sequence[tuple[str, str]],
) -> str:
    """A commented `.secretsync.yaml` from what a scan found. `names` are (key path, name) pairs;
    no value appears."""
    out = [
        "# secretsync settings for this tree (see `secretsync plan --help`).",
        "# Every setting is optional; the comments show the defaults.",
        "version: 1",
        f"project: {quote(project or 'my-project')}  # Doppler project (or --project / "
        "DOPPLER_PROJECT)",
        "",
        "# Environment -> Doppler config. Default: the root config of the same name.",
        "configs:",
    ]
    out += [f"  {quote(e)}: {quote(e)}" for e in envs] or ["  prd: prd"]
    out += [
        "",
        "# Path glob -> environment, checked before names like values-prd.yaml or overlays/prd/.",
        "environments: {}",
        "",
        "# The (Cluster)SecretStore each environment's ExternalSecrets use.",
        "# Default: the Doppler store in the tree whose spec.provider.doppler.config matches.",
        "stores:",
    ]
    out += [f"  {quote(e)}: {{kind: {quote(s.kind)}, name: {quote(s.name)}}}"
            for e, s in sorted(stores.items())] or [
        "  prd: {kind: ClusterSecretStore, name: doppler-prd}"
    ]
    out += [
        "",
        "# Key path (regular expression, full match) -> Doppler secret name.",
        "names:",
    ]
    seen: set[str] = set()
    for key_path, name in names:
        if key_path in seen:
            continue
        seen.add(key_path)
        out.append(f"  # {quote(re.escape(key_path))}: {quote(name)}")
    if not seen:
        out.append("  {}")
    out += [
        "",
        "secrets:",
        "  name: '{app}-doppler'    # Kubernetes Secret the references name",
        "  values: secret-ref       # clientId -> clientIdSecretRef: {name, key}; or: manual",
        "  ref_suffix: SecretRef",
        "",
        "excludes: []",
        "",
    ]
    return "\n".join(out)


def _printable(ch: str) -> bool:
    return 0x20 <= ord(ch) < 0x7F or (ord(ch) > 0xA0 and ch.isprintable())


def quote(text: str) -> str:
    """`text` as one YAML scalar on one line, whatever it holds: a newline, a quote, a `#`, a
    control or format character cannot end it or start another setting. Single-quoted when
    every character is printable, else double-quoted with escapes."""
    if all(_printable(ch) for ch in text):
        return "'" + text.replace("'", "''") + "'"
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif _printable(ch):
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'
