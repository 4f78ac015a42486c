"""Grouping: one secret per distinct value, with a Doppler name and every place it occurs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from secretsync.models import Finding, SecretGroup

NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Keys that say nothing about what a value is.
_VAGUE = frozenset({
    "global", "spec", "values", "data", "stringdata", "config", "env", "settings", "secrets",
    "secret", "credentials", "helm", "chart", "common", "default", "defaults", "value",
    "template", "containers", "extraenv", "parameters", "properties", "metadata", "annotations",
    "labels", "valuesobject", "inline", "source", "sources", "helmvalues",
})


def to_doppler_name(text: str) -> str:
    """`clientId` -> `CLIENT_ID`, `endpoint-url` -> `ENDPOINT_URL`, `3scale` -> `_3SCALE`."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").upper()
    if not s:
        return "SECRET"
    return s if not s[0].isdigit() else f"_{s}"


def suggest_name(f: Finding, overrides: Mapping[str, str] | None = None) -> str:
    """The env var's name where there is one, else from the key path, else the detector."""
    if overrides:
        for pattern, name in overrides.items():
            if re.fullmatch(pattern, f.key_path_dotted or ""):
                return name
    if f.env_name and f.whole:
        return to_doppler_name(f.env_name) if not NAME_RE.match(f.env_name) else f.env_name
    if f.whole:
        keys = [k for k in f.key_path if isinstance(k, str) and k.lower() not in _VAGUE]
        if keys:
            return to_doppler_name("_".join(keys[-2:]))
    return to_doppler_name(f.detector)


def group(
    findings: Sequence[Finding],
    is_dev: Callable[[str, str], bool],
    overrides: Mapping[str, str] | None = None,
) -> tuple[list[Finding], list[SecretGroup]]:
    """Findings with `suggested_name` and `secret_id` set, and the secret groups."""
    by_value: dict[str, list[Finding]] = {}
    for f in findings:
        by_value.setdefault(f.value, []).append(f)
    groups: list[SecretGroup] = []
    for i, (value, fs) in enumerate(by_value.items(), start=1):
        names = [suggest_name(f, overrides) for f in fs]
        with_env = [n for f, n in zip(fs, names, strict=True) if f.env_name and f.whole]
        name = with_env[0] if with_env else min(names, key=lambda n: (len(n), n))
        detector = next((f.detector for f in fs if f.detector != "env-leak"), fs[0].detector)
        envs = tuple(sorted({e for f in fs for e in f.environments}))
        groups.append(SecretGroup(f"secret-{i}", name, detector, envs, tuple(fs),
                                  is_dev(detector, value)))
    # Two different values under one name in one environment would collide in Doppler.
    taken: dict[tuple[str, str], str] = {}
    final: list[SecretGroup] = []
    for g in groups:
        name = g.name
        n = 1
        while any(taken.get((name, e), g.id) != g.id for e in g.environments):
            n += 1
            name = f"{g.name}_{n}"
        for e in g.environments:
            taken[(name, e)] = g.id
        final.append(replace(g, name=name))
    out: list[Finding] = []
    for g in final:
        for f in g.findings:
            out.append(replace(f, suggested_name=g.name, secret_id=g.id))
    out.sort(key=lambda f: (f.path, f.start, f.detector))
    final = [replace(g, findings=tuple(f for f in out if f.secret_id == g.id)) for g in final]
    return out, final
