"""flux-variable: a value written in a Flux Kustomization's own `postBuild.substitute` moves to
the cluster's `secretsync-vars` Secret (an ExternalSecret template composes the variable from
Doppler keys when the value is part of it), and the inline variable is deleted.

    postBuild:                               postBuild:
      substitute:                      ->      substitute: {}
        CLUSTER_DOMAIN: tail876052.ts.net      substituteFrom: [{kind: Secret, name: ...}]

    and secretsync-vars renders CLUSTER_DOMAIN: "{{ .TAILNET }}.ts.net".

Inline `substitute` wins over `substituteFrom`, and later substituteFrom entries win over earlier
ones: secretsync-vars is appended last, so the variable keeps its precedence.
"""

from __future__ import annotations

from secretsync.remediate.base import Place, Step, Variable

NAME = "flux-variable"


def applies(place: Place) -> str | None:
    kp = place.kp
    if not (place.doc.get("kind") == "Kustomization" and str(place.doc.get("apiVersion", ""))
            .startswith("kustomize.toolkit.fluxcd.io/")):
        return "not a Flux Kustomization"
    if len(kp) != 4 or kp[:3] != ("spec", "postBuild", "substitute") or not isinstance(
            kp[3], str):
        return "not a postBuild.substitute variable"
    if place.block or "\n" in place.scalar.value:
        return "a multi-line variable"
    meta = place.doc.get("metadata") or {}
    name = meta.get("name") if isinstance(meta, dict) else None
    if not any(k.file == place.finding.path and k.name == name for k in place.graph.flux):
        return "the Kustomization is not part of a cluster"
    return None


def step(place: Place) -> Step:
    f = place.finding
    var = f.key_path[3]
    assert isinstance(var, str)
    meta = place.doc.get("metadata") or {}
    k = next(k for k in place.graph.flux if k.file == f.path and k.name == meta.get("name"))
    whole = f.whole and f.start == place.scalar.start
    template = None if whole else place.scalar.value.replace(
        f.value, "{{ ." + f.suggested_name + " }}")
    return Step(NAME, deletes=((f.path, place.scalar),),
                variables=(Variable(var, f.suggested_name, (), template=template, consumer=k),))
