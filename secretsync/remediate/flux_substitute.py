"""flux-substitute: a CRD field, a value that is part of a longer string, or a single-line value
inside a block scalar becomes a Flux `${VAR}`, substituted by the Kustomization that deploys it
(postBuild.substituteFrom a Secret that an ExternalSecret makes in flux-system, created by a
separate Kustomization the consumers dependsOn).

    host: shop.tail4c21e9.ts.net     ->   host: shop.${TAILSCALE_TAILNET}.ts.net
    tunnel: 3b9e4f1a-...             ->   tunnel: ${CLOUDFLARE_TUNNEL_ID}  (in config.yaml: |)

Identifiers only (a tailnet, a tunnel or account id, an endpoint): the value ends up in plain
text in the object, so credentials never go this way. Existing `${...}` in a Kustomization that
gains postBuild are escaped as `$${...}` (strict substitution fails on an undefined variable).
"""

from __future__ import annotations

from secretsync.remediate.base import IDENTIFIERS, Place, Step, Variable
from secretsync.rewrite import Splice

NAME = "flux-substitute"
DISABLED = "kustomize.toolkit.fluxcd.io/substitute"


def applies(place: Place) -> str | None:
    f = place.finding
    if f.detector not in IDENTIFIERS:
        return "a credential (never substituted into a manifest)"
    if not place.deploys or any(d.patch for d in place.deploys):
        return "not deployed by a Flux Kustomization"
    if any(d.flux.file == "" for d in place.deploys):
        return "deployed by the bootstrap Kustomization (flux-system), which has no postBuild"
    meta = place.doc.get("metadata") or {}
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(ann, dict) and ann.get(DISABLED) == "disabled":
        return "the object disables Flux substitution"
    if any(d.flux.substitution_disabled for d in place.deploys):
        return "its Kustomization disables substitution"
    if "\n" in f.value or "${" in f.value:
        return "a multi-line value"
    if place.doc.get("kind") == "Kustomization" and str(place.doc.get("apiVersion", "")
                                                        ).startswith("kustomize.toolkit"):
        return "a Flux Kustomization's own field"
    return None


def step(place: Place) -> Step:
    f = place.finding
    name = f.suggested_name
    sp = Splice(f.start, f.end, "${" + name + "}")
    return Step(NAME, ((f.path, sp),), variables=(Variable(name, name, place.deploys),))
