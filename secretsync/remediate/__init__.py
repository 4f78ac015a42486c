"""Remediation of every place a Flux tree deploys: the kinds, tried in a fixed order, and the
assembly of their steps into edits and manifests.

Order (the first kind whose `applies` holds wins; see each module's docstring):

1. env-ref           an env list entry                      -> valueFrom.secretKeyRef
2. chart-recipe      a value a chart recipe knows a hook for -> the chart's own Secret
3. helm-values-from  any other HelmRelease value            -> spec.valuesFrom + targetPath
4. eso-template      a value in a Secret manifest           -> ExternalSecret + target.template
5. flux-variable     a Kustomization's postBuild.substitute -> the same variable, from Doppler
6. flux-substitute   an identifier anywhere else            -> ${VAR} from postBuild.substituteFrom

Credentials are never substituted into manifests (6 takes identifiers only), so a credential
that fits none of 1-4 stays a follow-up naming the missing mechanism.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from secretsync.config import Config
from secretsync.detection import KeyPath
from secretsync.documents import ParsedFile, Scalar
from secretsync.models import Finding
from secretsync.remediate import (
    chart_recipe,
    env_ref,
    eso_template,
    flux_substitute,
    flux_variable,
    helm_values_from,
    yamledit,
)
from secretsync.remediate.assemble import Assembly
from secretsync.remediate.base import Kind, Place, Step
from secretsync.remediate.graph import Deploy, DeployGraph, HelmRelease

KINDS: tuple[Kind, ...] = (env_ref, chart_recipe, helm_values_from, eso_template,
                           flux_variable, flux_substitute)
KIND_NAMES: tuple[str, ...] = tuple(k.NAME for k in KINDS)

__all__ = ["KINDS", "KIND_NAMES", "Assembly", "Outcome", "Remediator"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one finding: the kind that took it, or why none did."""

    finding: Finding
    kind: str | None
    reason: str | None = None


@dataclass(slots=True)
class Remediator:
    """Chooses a kind per finding in files Flux deploys, then assembles the steps."""

    root: Path
    cfg: Config
    graph: DeployGraph
    parsed: Callable[[str], ParsedFile | None]
    steps: list[tuple[Finding, Step]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    _found: dict[tuple[str, int], set[KeyPath]] = field(default_factory=dict)

    def handles(self, f: Finding) -> bool:
        return self.graph.flux_deployed(f.path) and f.style not in ("text", "comment")

    def prepare(self, findings: Sequence[Finding]) -> None:
        for f in findings:
            self._found.setdefault((f.path, f.doc), set()).add(f.key_path)

    def place(self, f: Finding) -> Place | str:
        pf = self.parsed(f.path)
        if pf is None:
            return "the file does not parse: replace it by hand"
        document = next((d for d in pf.documents if d.index == f.doc), None)
        sc = _scalar_for(pf, f)
        docs = self.graph.docs.get(f.path) or []
        doc = docs[f.doc] if f.doc < len(docs) else None
        if document is None or sc is None or not isinstance(doc, Mapping):
            return "no YAML scalar to rewrite here: replace it by hand"
        deploys = tuple(self.graph.deployed(f.path))
        if f.environments:
            # Clusters where the value is overridden (an overlay replaces it) do not read it.
            mine = tuple(d for d in deploys if self.graph.env_of(d.cluster) in f.environments)
            deploys = mine or deploys
        hr, rel_ns, hr_ns, patch = self._release(doc, document.index, f.path, deploys)
        found = frozenset(self._found.get((f.path, f.doc), set()))
        return Place(f, pf, sc, document, doc, self.graph, deploys, self.cfg, hr, rel_ns,
                     hr_ns, patch, found)

    def _release(self, doc: Mapping[str, Any], index: int, rel: str,
                 deploys: tuple[Deploy, ...]
                 ) -> tuple[HelmRelease | None, str | None, str | None, bool]:
        if doc.get("kind") != "HelmRelease":
            return None, None, None, False
        patch = any(d.patch for d in deploys)
        hr = self.graph.helmrelease(rel, index)
        if hr is None:
            return None, None, None, patch
        spaces: set[str | None] = set()
        target = hr.target_namespace
        for d in deploys:
            if d.patch:
                base, ns = self.graph.patched(d, "HelmRelease", hr.name)
                spaces.add(ns)
                target = target or (base.target_namespace if base else None)
            else:
                spaces.add(d.namespace or hr.namespace)
        hr_ns = spaces.pop() if len(spaces) == 1 else None
        return hr, target or hr_ns, hr_ns, patch

    def add(self, f: Finding) -> str | None:
        """Take the finding with the first kind that applies; else the follow-up reason."""
        place = self.place(f)
        if isinstance(place, str):
            self.outcomes.append(Outcome(f, None, place))
            return place
        reasons: dict[str, str] = {}
        for kind in KINDS:
            why = kind.applies(place)
            if why is None:
                self.steps.append((f, kind.step(place)))
                self.outcomes.append(Outcome(f, kind.NAME))
                return None
            reasons[kind.NAME] = why
        # Name the mechanism this kind of place would need, and why it did not fit.
        if env_ref.is_env_entry(place):
            closest = env_ref.NAME
        elif place.values_path is not None:
            closest = helm_values_from.NAME
        elif place.doc.get("kind") == "Secret":
            closest = eso_template.NAME
        else:
            closest = flux_substitute.NAME
        reason = f"not rewritten ({closest}: {reasons[closest]}): move it by hand"
        self.outcomes.append(Outcome(f, None, reason))
        return reason

    def finish(self, schema_dir: Path | None,
               intended: frozenset[tuple[str, str]] = frozenset()) -> Assembly:
        asm = Assembly(self.root, self.cfg, self.graph, self.parsed, schema_dir,
                       intended=intended)
        asm.build(self.steps)
        return asm


def _scalar_for(pf: ParsedFile, f: Finding) -> Scalar | None:
    best = None
    for s in pf.scalars:
        if s.style in ("comment", "text") or s.doc != f.doc:
            continue
        if s.start <= f.start and f.end <= s.end:
            if s.style == "embedded":
                continue
            if best is None or (s.end - s.start) < (best.end - best.start):
                best = s
    return best


def anchor_dir(rel: str) -> str:
    return str(PurePosixPath(rel).parent)


_ = yamledit  # re-exported for kinds and the assembler
