"""exposure on a repository built in the test: what each value's history is."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretsync import config
from secretsync.errors import UsageError
from secretsync.exposure import ExposureOptions, run_exposure
from secretsync.exposure.history import Exposed, ExposureReport
from secretsync.exposure.naming import name_in_doppler

from .conftest import AWS, CHAT, TAILNET, TOKEN, History


def by_value(r: ExposureReport) -> dict[str, Exposed]:
    return {e.value: e for e in r.secrets}


def test_every_value_with_its_first_and_last_commit_and_head_state(history: History) -> None:
    h = history
    r = run_exposure(h.repo.root, ExposureOptions(jobs=1))
    got = by_value(r)
    assert set(got) == {TOKEN, CHAT, TAILNET, AWS}
    # (first, last, in HEAD): the token left with c3, the tailnet with c6 but the feature
    # branch (c4, c5, younger than c3) still held it; the AWS key lived in c4 only.
    expected = {
        TOKEN: (h.c1, h.c2, False),
        CHAT: (h.c1, h.c6, True),
        TAILNET: (h.c1, h.c5, False),
        AWS: (h.c4, h.c4, False),
    }
    for value, (first, last, in_head) in expected.items():
        e = got[value]
        assert (e.first.sha, e.last.sha, e.in_head) == (first, last, in_head), e.detector
        assert e.first.date == h.repo.date(first) and e.last.date == h.repo.date(last)
    assert r.head is not None and r.head.sha == h.c6
    assert r.commits == 6
    assert got[TOKEN].places[0].path == "apps/bot/deployment.yaml"
    assert got[TOKEN].places[0].key_path == "spec.template.spec.containers[0].env[0].value"


def test_credentials_rotate_identifiers_do_not(history: History) -> None:
    got = by_value(run_exposure(history.repo.root, ExposureOptions(jobs=1)))
    assert got[TOKEN].detector == "telegram-bot-token" and got[TOKEN].rotation.rotate
    assert "/revoke" in got[TOKEN].rotation.step
    assert got[AWS].detector == "aws-access-key" and got[AWS].rotation.rotate
    assert "create-access-key" in got[AWS].rotation.step
    for v in (CHAT, TAILNET):
        assert not got[v].rotation.rotate


def test_the_doppler_name_comes_from_the_reference_that_replaced_the_value(
    history: History,
) -> None:
    root = history.repo.root
    r = name_in_doppler(run_exposure(root, ExposureOptions(jobs=1)), config.load(root),
                        offline=True)
    got = by_value(r)
    d = got[TOKEN].doppler
    assert d is not None
    assert (d.name, d.project, d.config, d.source) == ("TELEGRAM_BOT_TOKEN", "app", "prd",
                                                        "reference")
    assert got[CHAT].doppler is None  # still a literal in HEAD: no reference names it


def test_workers_and_one_process_agree(history: History) -> None:
    one = run_exposure(history.repo.root, ExposureOptions(jobs=1))
    two = run_exposure(history.repo.root, ExposureOptions(jobs=2))
    assert [(e.value, e.first, e.last, e.in_head, e.fingerprint) for e in one.secrets] == [
        (e.value, e.first, e.last, e.in_head, e.fingerprint) for e in two.secrets]


def test_each_blob_is_scanned_once(history: History) -> None:
    r = run_exposure(history.repo.root, ExposureOptions(jobs=1))
    # deployment x2, values x2, externalsecret, aws: README.md is not YAML.
    assert r.blobs_scanned == 6


def test_a_version_that_only_drops_a_line_keeps_the_other_values(tmp_path: Path) -> None:
    """A version that is not rescanned inherits its predecessor's values still in it, and
    loses those whose lines went."""
    from .gitrepo import Repo

    repo = Repo(tmp_path / "r")
    both = f"telegram:\n  chatId: \"{CHAT}\"\n  botToken: \"{TOKEN}\"\n  x: 1\n"
    c1 = repo.commit({"a.yaml": both}, "both")
    c2 = repo.commit({"a.yaml": both.replace("  x: 1\n", "")}, "unrelated line")
    c3 = repo.commit({"a.yaml": f"telegram:\n  chatId: \"{CHAT}\"\n"}, "token removed")
    got = by_value(run_exposure(repo.root, ExposureOptions(jobs=1)))
    assert (got[TOKEN].first.sha, got[TOKEN].last.sha, got[TOKEN].in_head) == (c1, c2, False)
    assert (got[CHAT].first.sha, got[CHAT].last.sha, got[CHAT].in_head) == (c1, c3, True)


def test_a_value_changed_in_place_is_a_new_value(tmp_path: Path) -> None:
    from .gitrepo import Repo

    repo = Repo(tmp_path / "r")
    other = "987654:Zq-1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1u"
    c1 = repo.commit({"a.yaml": f"telegram:\n  botToken: \"{TOKEN}\"\n"}, "one")
    c2 = repo.commit({"a.yaml": f"telegram:\n  botToken: \"{other}\"\n"}, "rotated in place")
    got = by_value(run_exposure(repo.root, ExposureOptions(jobs=1)))
    assert (got[TOKEN].first.sha, got[TOKEN].last.sha) == (c1, c1)
    assert (got[other].first.sha, got[other].last.sha, got[other].in_head) == (c2, c2, True)


def test_a_renamed_file_keeps_its_values(tmp_path: Path) -> None:
    from .gitrepo import Repo

    repo = Repo(tmp_path / "r")
    body = "".join(f"k{i}: v{i}\n" for i in range(30)) + f"telegram:\n  botToken: \"{TOKEN}\"\n"
    c1 = repo.commit({"old/a.yaml": body}, "one")
    c2 = repo.commit({"old/a.yaml": None, "new/a.yaml": body + "k: 1\n"}, "moved and edited")
    got = by_value(run_exposure(repo.root, ExposureOptions(jobs=1)))
    assert (got[TOKEN].first.sha, got[TOKEN].last.sha, got[TOKEN].in_head) == (c1, c2, True)


def test_not_a_git_repository_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not in a git repository"):
        run_exposure(tmp_path, ExposureOptions())


@pytest.mark.parametrize("rng", ["main", "nosuch..main", "main..nosuch", "--all..main"])
def test_a_bad_range_is_a_usage_error(history: History, rng: str) -> None:
    with pytest.raises(UsageError):
        run_exposure(history.repo.root, ExposureOptions(rev_range=rng))


def test_history_holds_only_the_changes_to_scanned_paths(tmp_path: Path) -> None:
    """Changes to other files are dropped as the log is read; a YAML file renamed from a
    non-YAML one keeps that blob as its predecessor."""
    from secretsync.exposure import git
    from secretsync.exposure.history import scanned_path

    from .gitrepo import Repo

    repo = Repo(tmp_path / "r")
    body = "".join(f"k{i}: v{i}\n" for i in range(30))
    repo.commit({"a.yaml": body, "README.md": "x\n", "conf.txt": body}, "one")
    repo.commit({"conf.txt": None, "conf.yaml": body + "k: 1\n", "README.md": "y\n"}, "two")
    one, two = git.commits(repo.root, ["--all"], keep=lambda rel: scanned_path(rel)[0])
    assert [c.path for c in one.changes] == ["a.yaml"]
    assert [(c.path, c.old_path) for c in two.changes] == [("conf.yaml", "conf.txt")]
    assert two.changes[0].old is not None and two.changes[0].blob is not None
