"""Two copies of one tree in one run (issue 10 item 7): examples/ holds the platform and its
monorepo copy. One Doppler name per role across both roots; a value that drifted between the
copies is a conflict naming both places, and neither value is pushed or rewritten."""

from __future__ import annotations

import shutil
from pathlib import Path

from secretsync.config import load
from secretsync.plan import build

REPO = Path(__file__).resolve().parents[1]
PLATFORM = "gitops-platform/deploy/services/example-api/values-dev.yaml"
MONOREPO = "example-monorepo/modules/deploy/services/example-api/values-dev.yaml"


def _examples(tmp_path: Path) -> Path:
    tree = tmp_path / "examples"
    shutil.copytree(REPO / "examples", tree, ignore=shutil.ignore_patterns("*.md", "expected"))
    return tree


def test_both_roots_share_one_name_per_role(tmp_path: Path) -> None:
    tree = _examples(tmp_path)
    plan = build(tree, load(tree, project="gaynance", env={})).plan
    by_name: dict[tuple[str, str], set[str]] = {}
    for s in plan.secrets:
        roots = {p.split("/", 1)[0] for p in s.places}
        by_name.setdefault((s.env, s.name), set()).update(roots)
    # Every role the two copies share is one secret per config, never NAME and NAME_2.
    assert not any(name.endswith("_2") for _, name in by_name)
    assert by_name[("dev", "AUTH0_DOMAIN")] == {"gitops-platform", "example-monorepo"}
    assert by_name[("prd", "TAILNET")] == {"gitops-platform", "example-monorepo"}
    assert len(plan.secrets) == len(by_name)
    assert not [s for s in plan.secrets if s.status == "drift"]


def test_a_drifted_value_is_a_conflict_naming_both_places(tmp_path: Path) -> None:
    tree = _examples(tmp_path)
    f = tree / MONOREPO
    f.write_text(f.read_text().replace("dev-tgrsoxiakeqdr1gg.us.auth0.com",
                                       "dev-otheroldtenant.us.auth0.com"))
    built = build(tree, load(tree, project="gaynance", env={}))
    plan = built.plan
    domain = [s for s in plan.secrets if s.name == "AUTH0_DOMAIN"]
    assert {s.status for s in domain} == {"drift"}
    assert len([s for s in domain if s.env == "dev"]) == 2
    assert not any("AUTH0_DOMAIN" in names for names in built.desired.values())
    assert not any(s.name.startswith("AUTH0_DOMAIN_") for s in plan.secrets)
    fu = {(x.path, x.line): x.reason for x in plan.followups}
    for rel in (PLATFORM, MONOREPO):
        reason = fu[(rel, 13)]
        assert reason.startswith("conflict: AUTH0_DOMAIN has two values in dev")
        assert f"{PLATFORM}:13" in reason and f"{MONOREPO}:13" in reason
    # Not rewritten anywhere: no edit names the drifted secret.
    assert not [e for e in plan.edits if e.key == "AUTH0_DOMAIN"]
    # The rest of the tree goes on as usual.
    assert any(s.name == "TAILNET" and s.status == "push" for s in plan.secrets)
