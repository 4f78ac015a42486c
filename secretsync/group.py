"""Grouping: one secret per distinct value, with a Doppler name and every place it occurs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from secretsync.environments import EnvRules, path_env
from secretsync.models import Finding, SecretGroup

ENV_LEAK = "env-leak"
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


# Words that already say which provider a name belongs to.
_PROVIDER_WORDS = {
    "tailscale": ("TAILSCALE", "TAILNET", "TS"),
    "auth0": ("AUTH0", "OIDC"),
    "cloudflare": ("CLOUDFLARE", "CF", "R2", "S3", "TUNNEL"),
    "telegram": ("TELEGRAM", "TG"),
}


def _with_provider(name: str, detector: str) -> str:
    """`OAUTH_CLIENT_ID` for a Tailscale id becomes `TAILSCALE_OAUTH_CLIENT_ID`: one Doppler
    config holds every provider's ids, so a name must say whose it is."""
    provider = detector.split("-", 1)[0]
    words = _PROVIDER_WORDS.get(provider)
    if not words or any(w in name.split("_") for w in words):
        return name
    return f"{words[0]}_{name}"


def name_candidates(f: Finding, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Doppler names for a finding, best first: the configured override, the env var's name,
    the last two keys of the key path (then three, four: to tell apart two values that would
    share a name), else the detector."""
    if overrides:
        for pattern, name in overrides.items():
            if re.fullmatch(pattern, f.key_path_dotted or ""):
                return [name]
    out: list[str] = []
    if f.env_name and f.whole:
        out.append(f.env_name if NAME_RE.match(f.env_name) else to_doppler_name(f.env_name))
    if f.whole:
        keys = [k for k in f.key_path if isinstance(k, str) and k.lower() not in _VAGUE]
        for n in range(2, max(3, len(keys) + 1)):
            if keys[-n:]:
                cand = _with_provider(to_doppler_name("_".join(keys[-n:])), f.detector)
                if cand not in out:
                    out.append(cand)
    if not out:
        out.append(to_doppler_name(f.detector))
    return out


def suggest_name(f: Finding, overrides: Mapping[str, str] | None = None) -> str:
    return name_candidates(f, overrides)[0]


def leak_envs(findings: Sequence[Finding], dev_value: bool,
              rules: EnvRules | None = None) -> set[str]:
    """The environments a value reaches only as an env leak: never pushed there (the config
    needs its own value). A dev-looking value reaches a non-dev environment legitimately only
    from a file named for it; inherited or env-less places never put it there (seed 2.2)."""
    rules = rules or EnvRules()
    leak = {e for f in findings if f.detector == ENV_LEAK for e in f.environments}
    if dev_value:
        explicit = {path_env(f.path, rules) for f in findings}
        leak |= {e for f in findings for e in f.environments
                 if e not in rules.dev_envs and e not in explicit}
    return leak


def pushed_envs(g: SecretGroup, rules: EnvRules | None = None) -> tuple[str, ...]:
    """The environments whose config gets this group's value."""
    leak = leak_envs(g.findings, g.dev_value, rules)
    return tuple(e for e in g.environments if e not in leak)


def same_place(a: Finding, b: Finding) -> bool:
    """Are `a` and `b` the same place in two copies of one tree: the same key path in files
    whose paths end alike (at least a directory and the file name), below different roots?"""
    if a.path == b.path or a.key_path != b.key_path or not a.key_path:
        return False
    pa, pb = a.path.split("/"), b.path.split("/")
    return min(len(pa), len(pb)) >= 2 and pa[-2:] == pb[-2:]


def drifted(a: SecretGroup, b: SecretGroup) -> list[tuple[Finding, Finding]]:
    """The places where two values' groups are the same place in two copies of the tree."""
    if a.id == b.id:
        return []
    return [(x, y) for x in a.findings for y in b.findings
            if x.detector != ENV_LEAK and y.detector != ENV_LEAK and same_place(x, y)]


def group(
    findings: Sequence[Finding],
    is_dev: Callable[[str, str], bool],
    overrides: Mapping[str, str] | None = None,
    rules: EnvRules | None = None,
) -> tuple[list[Finding], list[SecretGroup]]:
    """Findings with `suggested_name` and `secret_id` set, and the secret groups."""
    by_value: dict[str, list[Finding]] = {}
    for f in findings:
        by_value.setdefault(f.value, []).append(f)
    groups: list[SecretGroup] = []
    candidates: dict[str, list[str]] = {}
    for i, (value, fs) in enumerate(by_value.items(), start=1):
        namers = [f for f in fs if not f.echo] or fs
        per = [name_candidates(f, overrides) for f in namers]
        with_env = [c for f, c in zip(namers, per, strict=True) if f.env_name and f.whole]
        best = with_env[0] if with_env else min(per, key=lambda c: (len(c[0]), c[0]))
        detector = next((f.detector for f in fs if f.detector != "env-leak"), fs[0].detector)
        envs = tuple(sorted({e for f in fs for e in f.environments}))
        gid = f"secret-{i}"
        candidates[gid] = best
        groups.append(SecretGroup(gid, best[0], detector, envs, tuple(fs),
                                  is_dev(detector, value)))
    # Two different values under one name in one environment would collide in Doppler: the
    # later one takes a longer name from its key path, or else a number. An environment a value
    # only leaks into is not taken: that config needs another value, and the same role's value
    # that the environment names itself (prd's own tenant) is that value, under the same name.
    # Two copies of one tree (a platform and its monorepo copy) that hold different values at
    # the same place are one role that drifted: they keep the one name, and plan reports the
    # conflict with both places instead of inventing a second name.
    taken: dict[tuple[str, str], str] = {}
    final: list[SecretGroup] = []
    by_id = {g.id: g for g in groups}
    for g in groups:
        envs = pushed_envs(g, rules)

        def free(name: str, g: SecretGroup = g, envs: tuple[str, ...] = envs) -> bool:
            return all(taken.get((name, e), g.id) == g.id
                       or (name == candidates[g.id][0] and drifted(g, by_id[taken[(name, e)]]))
                       for e in envs)

        name = next((c for c in candidates[g.id] if free(c)), "")
        n = 1
        while not name:
            n += 1
            name = f"{g.name}_{n}" if free(f"{g.name}_{n}") else ""
        for e in envs:
            taken[(name, e)] = g.id
        final.append(replace(g, name=name))
    def order(f: Finding) -> tuple[str, int, str]:
        return (f.path, f.start, f.detector)

    named = [
        replace(g, findings=tuple(sorted(
            (replace(f, suggested_name=g.name, secret_id=g.id) for f in g.findings), key=order)))
        for g in final
    ]
    out = sorted((f for g in named for f in g.findings), key=order)
    return out, named
