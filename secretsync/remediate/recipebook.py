"""Chart recipes: how a chart takes a value from a Secret instead of inline (data files in
`recipes/`, one per chart; facts and sources in each file's header and INJECTION.md §5).

The format extends the one `chart_recipe` reads (chart, secret, values: a fixed-name Secret the
chart reads when its inline values are unset) with:

    versions: ">=0.3.0,<0.4.0"      the chart versions the recipe was checked against
    hooks:                          each a way the chart reads values from a Secret
      - how: <one line, for reports>
        values: [<values path pattern>, ...]   `*` any text, `[*]` any index, `\\.` a dot in a key
        keys: {<values path>: <key in the Secret>}          (default: the Doppler name)
        set: {<values path>: <value>}   written with it ("{secret}": the Secret's name)
        env_list: <values path of an env list>     entries with valueFrom.secretKeyRef
        env: {<values path>: <variable name>}
        env_from_secret: <values path naming a Secret read as environment>
        files: {<field>: <field>_file}   app-native *_file settings (Alertmanager)
        expand_env: true                the app expands ${VAR} in its config (Loki)
        river_env: <values path>        a quoted string of the Alloy configuration text at
                                        that path becomes sys.env("NAME")
        cfg_env: <prefix>               a `key = "value"` line of a configuration block goes,
                                        read as <prefix><KEY> from env_list (oauth2_proxy.cfg)
        template: {<Secret key>: <ESO template over the moved values>}
        literal: {<Secret key>: <text>}  a key the chart also reads, with a fixed value
        secret: <Secret name>            this hook's own Secret (default: the recipe's)
        versions: <range>                this hook only for these chart versions ...
        older: <why not below>           ... and what is missing in the others
        when: {<values path>: <value>}   only when the values say so (Loki deploymentMode); a
                                         list accepts any of its items, null: the path unset
                                         (the chart's default)
        unless: [<values path>, ...]     not when the values set one of these
        requires: [<Secret key>, ...]    keys the chart then reads from the Secret (all must
                                         exist: moved here, literal, or already produced)
    no_hook: [{value: <values path>, why: <the missing mechanism>}]
    unread: [{value: <values path>, why: <what the chart reads instead>}]
                                    values the chart's templates never read at these versions:
                                    argo-chart deletes them once Doppler holds them

A `set` whose value is a list adds its items to the list the values hold (never replaces it).

`render` applies a recipe to a values mapping (what the chart would read after the rewrite);
the tests render every recipe.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ruamel.yaml import YAML

CFG_LINE = re.compile(r'\s*(?P<key>[a-z][a-z0-9_]*)\s*=\s*(?P<open>\[\s*)?"(?P<v>[^"\\]*)"'
                      r'(?P<close>\s*\])?\s*')
"""A `key = "value"` or `key = [ "value" ]` line of a TOML-like configuration text."""
_VERSION = re.compile(r"(>=|<=|>|<|==)?\s*v?(\d+(?:\.\d+)*)")


@dataclass(frozen=True, slots=True)
class Hook:
    how: str
    patterns: tuple[str, ...]
    raw: Mapping[str, Any]

    def matches(self, key_path: Sequence[object]) -> bool:
        d = dotted(key_path)
        return any(_glob(p).fullmatch(d) for p in self.patterns)

    def covers(self, version: str | None) -> bool:
        v = self.raw.get("versions")
        return version is None or not v or in_range(version, str(v))

    def holds(self, values: Mapping[str, Any]) -> bool:
        """The hook's `when:` conditions hold in these values."""
        for path, want in (self.raw.get("when") or {}).items():
            node: Any = values
            for k in split_path(str(path)):
                node = node.get(k) if isinstance(node, Mapping) else None
            if node not in (want if isinstance(want, list) else [want]):
                return False
        for path in self.raw.get("unless") or ():
            node = values
            for k in split_path(str(path)):
                node = node.get(k) if isinstance(node, Mapping) else None
            if node is not None:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Recipe:
    chart: str
    versions: str | None
    secret: str
    hooks: tuple[Hook, ...]
    no_hook: tuple[tuple[str, str], ...]
    file: str
    unread: tuple[tuple[str, str], ...] = ()

    def covers(self, version: str | None) -> bool:
        return version is None or self.versions is None or in_range(version, self.versions)

    def hook(self, key_path: Sequence[object],
             values: Mapping[str, Any] | None = None) -> Hook | None:
        """The first hook for this path; given the values, the first whose `when:` holds in
        them (several hooks may take one path, one per deployment mode), else the first."""
        found = [h for h in self.hooks if h.matches(key_path)]
        held = [h for h in found if values is not None and h.holds(values)]
        return next(iter(held or found), None)

    def secret_of(self, hook: Hook) -> str:
        return str(hook.raw.get("secret") or self.secret)

    def why_not(self, key_path: Sequence[object]) -> str | None:
        d = dotted(key_path)
        return next((w for v, w in self.no_hook if _glob(v).fullmatch(d)), None)

    def never_reads(self, key_path: Sequence[object]) -> str | None:
        """Why the chart never reads this value (None: it may)."""
        d = dotted(key_path)
        return next((w for v, w in self.unread if _glob(v).fullmatch(d)), None)


def dotted(key_path: Sequence[object]) -> str:
    out = ""
    for p in key_path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            k = str(p).replace(".", "\\.")
            out += f".{k}" if out else k
    return out


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("[*]", i):
            out += r"\[\d+\]"
            i += 3
        elif pattern.startswith("\\.", i):
            out += r"\\\."
            i += 2
        elif pattern[i] == "*":
            out += ".*"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def _parts(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def in_range(version: str, spec: str) -> bool:
    """`1.2.3` against `>=1.0.0,<2.0.0` (numeric components only)."""
    m = _VERSION.fullmatch(version.strip())
    if m is None:
        return False
    v = _parts(m.group(2))
    for cond in spec.split(","):
        c = _VERSION.fullmatch(cond.strip())
        if c is None:
            return False
        op, bound = c.group(1) or "==", _parts(c.group(2))
        n = max(len(v), len(bound))
        a, b = v + (0,) * (n - len(v)), bound + (0,) * (n - len(bound))
        if not {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a == b}[op]:
            return False
    return True


@cache
def recipes() -> dict[str, Recipe]:
    out: dict[str, Recipe] = {}
    folder = resources.files("secretsync.remediate").joinpath("recipes")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        raw: Any = YAML(typ="safe", pure=True).load(entry.read_text(encoding="utf-8"))
        hooks = [Hook(str(h["how"]), tuple(str(v) for v in h.get("values") or ()), h)
                 for h in raw.get("hooks") or ()]
        # The plain format (a fixed-name Secret the chart reads when the values are unset).
        for path, key in (raw.get("values") or {}).items():
            hooks.append(Hook(f"the chart reads Secret {raw['secret']} (key {key})",
                              (str(path),), {"keys": {str(path): str(key)}}))
        no, unread = (tuple((str(n["value"]), " ".join(str(n["why"]).split()))
                            for n in raw.get(k) or ()) for k in ("no_hook", "unread"))
        v = raw.get("versions")
        out[str(raw["chart"])] = Recipe(str(raw["chart"]), str(v) if v else None,
                                        str(raw["secret"]), tuple(hooks), no, entry.name,
                                        unread)
    return out


def hook_for(chart: str, key_path: Sequence[object], version: str | None = None) -> str | None:
    """A one-line description of how the chart reads this value from a Secret, or None."""
    r = recipes().get(chart)
    if r is None or not r.covers(version):
        return None
    h = r.hook(key_path)
    return None if h is None or not h.covers(version) else h.how.replace("{secret}",
                                                                           r.secret_of(h))


def limit_for(chart: str, key_path: Sequence[object], version: str | None = None) -> str | None:
    """Why the chart cannot read this value from a Secret (as the recipe says), or why the
    recipe does not apply to this version."""
    r = recipes().get(chart)
    if r is None:
        return None
    if not r.covers(version):
        h = r.hook(key_path)
        if h is not None:
            return (f"the {chart} recipe ({h.how.replace('{secret}', r.secret)}) is checked for "
                    f"chart versions {r.versions}, not {version}: check the chart's values at "
                    "that version and widen the range, or upgrade the chart")
        return None
    h = r.hook(key_path)
    if h is not None and not h.covers(version):
        older = " ".join(str(h.raw.get("older") or "").split())
        return (f"chart {chart} {version} has no Secret hook for {dotted(key_path)}"
                + (f": {older}" if older else f" (the recipe's hook needs {h.raw['versions']})"))
    why = r.why_not(key_path)
    return None if why is None else \
        f"chart {chart} has no Secret hook for {dotted(key_path)}: {why}"


# -- rendering ---------------------------------------------------------------------------------
def _paths(node: Any, path: tuple[object, ...] = ()) -> list[tuple[tuple[object, ...], Any]]:
    if isinstance(node, Mapping):
        return [x for k, v in node.items() for x in _paths(v, (*path, str(k)))]
    if isinstance(node, list):
        return [x for i, v in enumerate(node) for x in _paths(v, (*path, i))]
    return [(path, node)]


def _parent(values: Any, path: Sequence[object]) -> Any:
    for p in path[:-1]:
        values = values[p]
    return values


def split_path(dotted_path: str) -> list[str]:
    """`grafana.grafana\\.ini.server` -> [grafana, grafana.ini, server]."""
    return [k.replace("\0", ".") for k in dotted_path.replace("\\.", "\0").split(".")]


def _set(values: dict[str, Any], dotted_path: str, value: Any) -> None:
    keys = split_path(dotted_path)
    node = values
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    have = node.get(keys[-1])
    if isinstance(value, list) and isinstance(have, list):
        node[keys[-1]] = have + [v for v in value if v not in have]
    else:
        node[keys[-1]] = value


def fill(value: Any, secret: str) -> Any:
    """A recipe setting with `{secret}` replaced by the Secret's name."""
    if isinstance(value, str):
        return value.replace("{secret}", secret)
    if isinstance(value, list):
        return [fill(v, secret) for v in value]
    if isinstance(value, Mapping):
        return {k: fill(v, secret) for k, v in value.items()}
    return value


def env_name(hook: Hook, key_path: Sequence[object]) -> str:
    """The variable (or Secret key) a hook reads a value as, when the Doppler name is not
    used: `env:` names it; grafana.ini settings are GF_<SECTION>_<KEY>; else the key's name."""
    d = dotted(key_path)
    named = (hook.raw.get("env") or {}).get(d)
    if named:
        return str(named)
    if hook.raw.get("env_from_secret"):
        # The section and key under grafana.ini, wherever the chart nests it (a subchart).
        parts = list(key_path)
        at = parts.index("grafana.ini") + 1 if "grafana.ini" in parts else 2
        return "GF_" + "_".join(re.sub(r"[^A-Za-z0-9]", "_", str(p)).upper()
                                for p in parts[at:])
    if hook.raw.get("expand_env"):
        return "_".join(re.sub(r"[^A-Za-z0-9]", "_", str(p)).upper() for p in key_path[-2:])
    return str(key_path[-1]).upper()


def secret_key(hook: Hook, key_path: Sequence[object], name: str | None) -> str:
    """The key of the Secret that holds the value at `key_path` (`name`: its Doppler name)."""
    d = dotted(key_path)
    fixed = (hook.raw.get("keys") or {}).get(d)
    if fixed:
        return str(fixed)
    if hook.raw.get("env") or hook.raw.get("env_from_secret"):
        return env_name(hook, key_path)
    if hook.raw.get("env_list") and key_path[-1] == "value":
        return name or str(key_path[-1]).upper()
    return name or env_name(hook, key_path)


def _render_river(r: Recipe, out: dict[str, Any], names: Mapping[str, str],
                  version: str | None, only: Collection[str] | None,
                  found: Mapping[str, Sequence[str]], keys: dict[str, str],
                  used: list[Hook]) -> None:
    """river_env hooks: a quoted string of a configuration text becomes sys.env("NAME")."""
    for d, texts in found.items():
        h = r.hook(split_path(d))
        text = texts[0]
        block = str(h.raw.get("river_env") or "") if h is not None else ""
        if h is None or not block or not h.covers(version) or (
                only is not None and d not in only):
            continue
        where = split_path(block)
        holder = _parent(out, where)
        key = names.get(d) or str(split_path(d)[-1]).upper()
        quoted = '"' + text + '"'
        if isinstance(holder.get(where[-1]), str) and holder[where[-1]].count(quoted) == 1:
            holder[where[-1]] = holder[where[-1]].replace(quoted, f'sys.env("{key}")')
            keys[key] = d
            if h not in used:
                used.append(h)


def _render_cfg(r: Recipe, out: dict[str, Any], names: Mapping[str, str],
                version: str | None, only: Collection[str] | None,
                found: Mapping[str, Sequence[str]], keys: dict[str, str],
                used: list[Hook]) -> None:
    """cfg_env hooks: each line of the configuration text holding a found value goes; the app
    reads <prefix><KEY> from a Secret (env_list)."""
    for d, texts in found.items():
        path = split_path(d)
        h = r.hook(path)
        if h is None or not h.raw.get("cfg_env") or not h.covers(version) or (
                only is not None and d not in only):
            continue
        holder = _parent(out, path)
        lines = str(holder.get(path[-1], "")).split("\n")
        kept = []
        for line in lines:
            m = CFG_LINE.fullmatch(line)
            if m is None or not any(t in m.group("v") for t in texts):
                kept.append(line)
                continue
            var = str(h.raw["cfg_env"]) + m.group("key").upper()
            secret = r.secret_of(h)
            out.setdefault(str(h.raw["env_list"]), []).append(
                {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": var}}})
            keys[var] = d
        holder[path[-1]] = "\n".join(kept)
        if h not in used:
            used.append(h)


def render(r: Recipe, values: Mapping[str, Any], names: Mapping[str, str] | None = None,
           version: str | None = None, only: Collection[str] | None = None,
           found: Mapping[str, Sequence[str]] | None = None,
           ) -> tuple[dict[str, Any], dict[str, str]]:
    """The chart's values after the recipe moved every value it has a hook for, and the keys
    the Secret must hold (key -> dotted values path it replaces, or the text of a literal or
    template key). `names`: Doppler names by dotted values path (default: the variable or key
    the hook names). `only`: move just these dotted paths (the places a plan found). `found`:
    for a hook inside a configuration text (river_env), the strings found there by dotted path
    (`alloy.configMap.content.endpoint`)."""
    out: dict[str, Any] = copy.deepcopy(dict(values))
    keys: dict[str, str] = {}
    names = names or {}
    used: list[Hook] = []
    _render_river(r, out, names, version, only, found or {}, keys, used)
    _render_cfg(r, out, names, version, only, found or {}, keys, used)
    for path, _ in _paths(values):
        if r.never_reads(path) is not None and r.hook(path) is None and (
                only is None or dotted(path) in only):
            del _parent(out, path)[path[-1]]  # a value the chart never reads goes
            continue
        h = r.hook(path, values)
        if h is None or not h.covers(version) or not h.holds(values) or (
                only is not None and dotted(path) not in only) or \
                h.raw.get("river_env") or h.raw.get("cfg_env"):
            continue
        if h not in used:
            used.append(h)
        d = dotted(path)
        raw = h.raw
        secret = r.secret_of(h)
        parent = _parent(out, path)
        field = path[-1]
        key = secret_key(h, path, names.get(d))
        if raw.get("files"):
            fname = str(raw["files"].get(field, f"{field}_file"))
            parent[fname] = f"/etc/alertmanager/secrets/{secret}/{key}"
            del parent[field]
        elif raw.get("expand_env"):
            parent[field] = f"${{{key}}}"
        elif raw.get("env_list") and field == "value" and len(path) >= 2 \
                and isinstance(path[-2], int):
            key = names.get(d, str(parent.get("name", key)))
            del parent["value"]
            parent["valueFrom"] = {"secretKeyRef": {"name": secret, "key": key}}
        elif raw.get("env_list"):
            del parent[field]
            env = out.setdefault(str(raw["env_list"]), [])
            env.append({"name": env_name(h, path), "valueFrom": {"secretKeyRef": {
                "name": secret, "key": key}}})
        else:
            del parent[field]
        keys[key] = d
    for h in used:
        secret = r.secret_of(h)
        for k, v in (h.raw.get("set") or {}).items():
            _set(out, str(k), fill(v, secret))
        for k, tpl in (h.raw.get("template") or {}).items():
            keys[str(k)] = str(tpl)
        for k, text in (h.raw.get("literal") or {}).items():
            keys[str(k)] = str(text)
    return out, keys
