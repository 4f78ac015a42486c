"""env-ref: an entry of an env list (a pod spec, a HelmRelease's `values.env` of any chart, an
overlay patch that replaces that list) becomes `valueFrom.secretKeyRef`.

    - name: AUTH0_DOMAIN                 - name: AUTH0_DOMAIN
      value: dev-x.eu.auth0.com    ->      valueFrom:
                                             secretKeyRef: {name: shop-doppler, key: AUTH0_DOMAIN}

The Secret is `secrets.name` (default `<app>-doppler`, app = the HelmRelease or the object) in
the namespace the pods run in (a HelmRelease's release namespace).
"""

from __future__ import annotations

from secretsync.remediate.base import Place, SecretKey, Step
from secretsync.rewrite import ref_splice

NAME = "env-ref"


def is_env_entry(place: Place) -> bool:
    kp = place.kp
    return (place.finding.env_name is not None and len(kp) >= 2 and kp[-1] == "value"
            and isinstance(kp[-2], int))


def _app(place: Place) -> str:
    if place.helmrelease is not None:
        return place.helmrelease.name
    return place.document.name or "app"


def _namespace(place: Place) -> str | None:
    if place.helmrelease is not None:
        return place.release_namespace
    written = (place.doc.get("metadata") or {}).get("namespace")
    spaces = {d.namespace or written for d in place.deploys}
    return spaces.pop() if len(spaces) == 1 else None


def applies(place: Place) -> str | None:
    if not is_env_entry(place):
        return "not an env list entry"
    if not place.finding.whole or place.block:
        return "part of a longer env value"
    if _namespace(place) is None:
        return "the namespace its pods run in is not known (or differs per cluster)"
    return None


def step(place: Place) -> Step:
    f = place.finding
    ns = _namespace(place)
    assert ns is not None
    secret = place.cfg.secret_for(_app(place))
    sp = ref_splice(place.pf.text, place.scalar, "valueFrom",
                    {"secretKeyRef.name": secret, "secretKeyRef.key": f.suggested_name},
                    doc=f.doc)
    keys = tuple(SecretKey(ns, secret, f.suggested_name, f.suggested_name, (d,), place.anchor(d))
                 for d in place.deploys)
    return Step(NAME, ((f.path, sp),), keys)
