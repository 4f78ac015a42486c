"""eso-template: a Secret written in git (a cloudflared `credentials.json`, a config file that
holds several values) is replaced by an ExternalSecret of the same name whose
`target.template` renders the same keys from Doppler.

    kind: Secret                      kind: ExternalSecret
    stringData:                 ->    spec: {target: {name: tunnel-credentials, template: {data:
      credentials.json: '{...}'         {credentials.json: "{{ .CLOUDFLARE_CREDENTIALS_JSON }}"}}}}

Every value found in the Secret becomes `{{ .NAME }}`; the rest of each key's text stays (its
own `{{` escaped for ESO's Go templates). Secrets with base64 `data:` that holds anything else
are left to a human.
"""

from __future__ import annotations

from secretsync.remediate.base import Place, SecretKey, Step

NAME = "eso-template"


def applies(place: Place) -> str | None:
    doc = place.doc
    if doc.get("kind") != "Secret" or doc.get("apiVersion") != "v1":
        return "not a Secret manifest"
    kp = place.kp
    if len(kp) != 2 or kp[0] != "stringData" or not isinstance(kp[1], str):
        return "not a stringData value"
    data = doc.get("data")
    if isinstance(data, dict) and data:
        return "the Secret also has base64 data"
    if not place.deploys or any(d.patch for d in place.deploys):
        return "not deployed"
    return None


def step(place: Place) -> Step:
    f = place.finding
    key = f.key_path[1]
    assert isinstance(key, str)
    meta = place.doc.get("metadata") or {}
    name = str(meta.get("name") or "secret")
    keys = tuple(SecretKey(d.namespace or str(meta.get("namespace") or ""), name, key,
                           f.suggested_name, (d,), place.anchor(d)) for d in place.deploys)
    return Step(NAME, keys=keys, replace_doc=(f.path, f.doc))
