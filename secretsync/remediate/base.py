"""The interface every remediation kind implements, and what a kind sees of a place.

A kind is a module with `NAME` and two functions: `applies(place) -> str | None` (None when it
applies, else why not: the reason becomes the follow-up when no kind applies) and
`step(place) -> Step`. `secretsync.remediate.KINDS` lists them in the fixed order plan tries.
A step says what it edits (splices, by file) and what it needs produced: keys of Secrets (an
ExternalSecret makes them, in the namespace of what reads them, from the store of each cluster
that deploys it) and Flux variables (a Secret in flux-system, read through postBuild).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from secretsync.config import Config
from secretsync.detection import KeyPath
from secretsync.documents import Document, ParsedFile, Scalar
from secretsync.models import Finding
from secretsync.remediate.graph import Deploy, DeployGraph, FluxKustomization, HelmRelease
from secretsync.rewrite import Splice

# Identifiers may be substituted into manifests (they end up in a CR or ConfigMap in plain
# text); credentials only ever go into Secrets (INJECTION.md §6).
IDENTIFIERS = frozenset({
    "tailscale-tailnet", "tailscale-oauth-client-id", "cloudflare-account-id",
    "cloudflare-tunnel-id", "cloudflare-r2-endpoint", "auth0-domain", "auth0-client-id",
    "telegram-chat-id",
})
_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class SecretKey:
    """One key a Secret must hold, made by an ExternalSecret from Doppler."""

    namespace: str
    secret: str
    key: str
    """The key in the Kubernetes Secret."""
    remote: str
    """The Doppler secret name."""
    deploys: tuple[Deploy, ...]
    """Where what reads it is deployed (cluster, Flux Kustomization, listing kustomization)."""
    anchor: str
    """The directory whose kustomization (or Flux path) deploys the reader."""
    template: str | None = None
    """For eso-template: the Secret's value rendered from Doppler keys (`{{ .NAME }}`)."""


@dataclass(frozen=True, slots=True)
class Variable:
    """A Flux postBuild variable a Kustomization must be able to substitute."""

    name: str
    remote: str
    deploys: tuple[Deploy, ...]
    """Where what reads the variable is deployed (its Kustomization substitutes it)."""
    template: str | None = None
    """The variable's value composed from the Doppler key (`{{ .NAME }}.ts.net`)."""
    consumer: FluxKustomization | None = None
    """flux-variable: the Kustomization itself (it substitutes the variable)."""


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    splices: tuple[tuple[str, Splice], ...] = ()
    keys: tuple[SecretKey, ...] = ()
    variables: tuple[Variable, ...] = ()
    followups: tuple[str, ...] = ()
    deletes: tuple[tuple[str, Scalar], ...] = ()
    """Inline keys to remove (grouped per document by the assembler, so that a mapping left
    empty becomes `{}` once)."""
    values_from: tuple[tuple[str, int, Mapping[str, Any]], ...] = ()
    """(file, document, valuesFrom entry) to add to a HelmRelease."""
    replace_doc: tuple[str, int] | None = None
    """eso-template: the (file, document) the ExternalSecret replaces."""


@dataclass(frozen=True, slots=True)
class Place:
    """A finding and everything a kind needs to judge it."""

    finding: Finding
    pf: ParsedFile
    scalar: Scalar
    document: Document
    doc: Mapping[str, Any]
    """The document, loaded (names and structure; never printed)."""
    graph: DeployGraph
    deploys: tuple[Deploy, ...]
    cfg: Config
    helmrelease: HelmRelease | None = None
    """The HelmRelease this document is, or patches."""
    release_namespace: str | None = None
    """Where the release's objects go (targetNamespace, else the HelmRelease's namespace)."""
    hr_namespace: str | None = None
    """The HelmRelease object's own namespace (valuesFrom Secrets live there)."""
    patch: bool = False
    found_paths: frozenset[KeyPath] = field(default_factory=frozenset)
    """Key paths of every finding in this document (a recipe moves all its values or none)."""

    @property
    def kp(self) -> KeyPath:
        return self.finding.key_path

    @property
    def values_path(self) -> KeyPath | None:
        """The path inside the chart's values, for a HelmRelease's spec.values."""
        if self.helmrelease is not None and self.kp[:2] == ("spec", "values"):
            return self.kp[2:]
        return None

    @property
    def typed(self) -> str:
        """The YAML type of the scalar as written: str, int, bool, float or null."""
        sc = self.scalar
        if sc.style != "plain":
            return "str"
        v = sc.value
        if _INT.match(v):
            return "int"
        if v in ("true", "false", "True", "False", "TRUE", "FALSE"):
            return "bool"
        if v in ("null", "~", "Null", "NULL", ""):
            return "null"
        try:
            float(v)
        except ValueError:
            return "str"
        return "float"

    @property
    def block(self) -> bool:
        return self.finding.style in ("literal", "folded", "embedded")

    def anchor(self, d: Deploy) -> str:
        """The directory an ExternalSecret for this reader goes in: the one whose
        kustomization lists the file (a patch: the kustomization that applies it), else the
        file's own directory (Flux's generated kustomization picks up every file there)."""
        from pathlib import PurePosixPath

        if d.kustomization is not None:
            return str(PurePosixPath(d.kustomization).parent)
        return str(PurePosixPath(self.finding.path).parent)


class Kind(Protocol):
    NAME: str

    def applies(self, place: Place) -> str | None: ...

    def step(self, place: Place) -> Step: ...
