"""chart-recipe: a chart's own Secret hook, known from a recipe (one data file per chart in
`recipes/`). The inline values are removed and an ExternalSecret creates the Secret the chart
reads when they are unset, in the release namespace.

    values:                          values:
      oauth:                   ->      oauth: {}
        clientId: k3r7...CNTRL       + ExternalSecret operator-oauth {client_id, client_secret}
        clientSecret: tskey-...

A recipe file:

    chart: <chart name as in spec.chart.spec.chart>
    secret: <the Secret the chart reads>
    namespace: release
    values: {<dotted values path>: <key in that Secret>, ...}

A recipe applies only when every one of its values present inline is being moved (the chart
would otherwise still render its own Secret from what stays).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ruamel.yaml import YAML

from secretsync.remediate.base import Place, SecretKey, Step

NAME = "chart-recipe"


@dataclass(frozen=True, slots=True)
class Recipe:
    chart: str
    secret: str
    values: tuple[tuple[tuple[str, ...], str], ...]
    """(values path, Secret key)."""

    def key_for(self, path: tuple[object, ...]) -> str | None:
        return next((k for p, k in self.values if p == path), None)


@cache
def recipes() -> dict[str, Recipe]:
    out: dict[str, Recipe] = {}
    for entry in resources.files("secretsync.remediate").joinpath("recipes").iterdir():
        if not entry.name.endswith(".yaml"):
            continue
        raw: Any = YAML(typ="safe", pure=True).load(entry.read_text(encoding="utf-8"))
        vals = tuple((tuple(str(p).split(".")), str(k)) for p, k in raw["values"].items())
        out[str(raw["chart"])] = Recipe(str(raw["chart"]), str(raw["secret"]), vals)
    return out


def recipe_for(place: Place) -> Recipe | None:
    hr = place.helmrelease
    if hr is None:
        return None
    chart = hr.chart
    if chart is None and place.patch:
        base = place.graph.helmrelease_named(hr.name)
        chart = next((h.chart for h in base if h.chart), None)
    return recipes().get(chart or "")


def applies(place: Place) -> str | None:
    r = recipe_for(place)
    vp = place.values_path
    if r is None or vp is None:
        return "no recipe for this chart"
    if r.key_for(vp) is None:
        return "not a value the chart's recipe moves"
    if not place.finding.whole or place.block:
        return "part of a longer value"
    inline = {(*("spec", "values"), *p) for p, _ in r.values} & place.document.paths
    if not inline <= place.found_paths:
        return "the recipe's other values stay inline (the chart would render its own Secret)"
    if place.release_namespace is None:
        return "the release namespace is not known"
    return None


def step(place: Place) -> Step:
    r = recipe_for(place)
    vp = place.values_path
    assert r is not None and vp is not None and place.release_namespace is not None
    key = r.key_for(vp)
    assert key is not None
    f = place.finding
    keys = tuple(SecretKey(place.release_namespace, r.secret, key, f.suggested_name, (d,),
                           place.anchor(d)) for d in place.deploys)
    return Step(NAME, keys=keys, deletes=((f.path, place.scalar),))
