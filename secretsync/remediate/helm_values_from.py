"""helm-values-from: any other value of a HelmRelease moves to `spec.valuesFrom` with a
`targetPath`, and the inline key is deleted (targetPath wins over inline values only since
helm-controller 1.1; deleting it works on every version and takes the value out of git).

    values:                                   valuesFrom:
      alertmanager: ...                   ->    - kind: Secret
        chat_id: -1002873541906                   name: kube-prometheus-stack-doppler
                                                  valuesKey: TELEGRAM_CHAT_ID
                                                  targetPath: alertmanager...chat_id

Strings get `literal: true` (helm-controller >= 1.6, Flux 2.9: kept verbatim); ints and booleans
are left to strvals typing, which gives int64/bool exactly as YAML did. A float, or a string
strvals would retype without `literal`, is not moved this way. The Secret lives in the
HelmRelease object's own namespace (not targetNamespace).
"""

from __future__ import annotations

import re

from secretsync.remediate.base import Place, SecretKey, Step

NAME = "helm-values-from"
_PATH_KEY = re.compile(r"^[a-zA-Z0-9_\-/]+$")


def target_path(path: tuple[object, ...]) -> str | None:
    """Helm `--set` path syntax (dots escaped inside keys); None if not expressible."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
            continue
        key = str(p)
        if not _PATH_KEY.match(key.replace(".", "")):
            return None
        out += ("." if out else "") + key.replace(".", "\\.")
    return out if out and len(out) <= 250 else None


def applies(place: Place) -> str | None:
    vp = place.values_path
    if vp is None:
        return "not a HelmRelease value"
    if place.patch:
        return "set by a patch (valuesFrom belongs on the HelmRelease itself)"
    if not place.finding.whole or place.block:
        return "part of a longer value"
    if place.typed not in ("str", "int", "bool"):
        return f"a {place.typed} value (valuesFrom cannot keep its type)"
    if target_path(vp) is None:
        return "its key cannot be written as a targetPath"
    if place.hr_namespace is None:
        return "the HelmRelease's namespace is not known"
    return None


def step(place: Place) -> Step:
    vp = place.values_path
    hr = place.helmrelease
    assert vp is not None and hr is not None and place.hr_namespace is not None
    f = place.finding
    secret = place.cfg.secret_for(hr.name)
    entry: dict[str, object] = {"kind": "Secret", "name": secret, "valuesKey": f.suggested_name,
                                "targetPath": target_path(vp)}
    if place.typed == "str":
        entry["literal"] = True
    keys = tuple(SecretKey(place.hr_namespace, secret, f.suggested_name, f.suggested_name, (d,),
                           place.anchor(d)) for d in place.deploys)
    return Step(NAME, keys=keys, deletes=((f.path, place.scalar),),
                values_from=((f.path, f.doc, entry),))
