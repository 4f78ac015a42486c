"""Push semantics against the live test server, faults included."""

from __future__ import annotations

import pytest
from doppler_helpers import ClientFactory

from secretsync.doppler.interface import Action, ConfigRef
from secretsync.errors import DopplerError, UsageError
from secretsync.push import push
from secretsync.testing import DopplerTestServer

PRD = ConfigRef("app", "prd")
DEV = ConfigRef("app", "dev")


def actions(result: object) -> dict[str, Action]:
    return {a.name: a.action for a in result.actions}  # type: ignore[attr-defined]


def posts(server: DopplerTestServer) -> list[tuple[str, ...]]:
    return [e.body_names for e in server.request_log if e.method == "POST"]


def test_create_unchanged_conflict(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    server.set_secret("app", "prd", "SAME", "s")
    server.set_secret("app", "prd", "DIFF", "theirs")
    client = make_client(token)
    result = push(client, {PRD: {"NEW1": "n1", "NEW2": "n2", "SAME": "s", "DIFF": "ours"}})
    assert actions(result) == {"NEW1": Action.CREATE, "NEW2": Action.CREATE,
                               "SAME": Action.UNCHANGED, "DIFF": Action.CONFLICT}
    assert server.secrets("app", "prd") == {"SAME": "s", "DIFF": "theirs", "NEW1": "n1",
                                            "NEW2": "n2"}
    assert posts(server) == [("NEW1", "NEW2")]  # one POST for all creates
    assert [a.name for a in result.conflicts] == ["DIFF"]
    assert result.configs[0].written is True
    # Idempotent: a second run writes nothing.
    server.clear_log()
    again = push(client, {PRD: {"NEW1": "n1", "NEW2": "n2", "SAME": "s"}})
    assert set(actions(again).values()) == {Action.UNCHANGED}
    assert posts(server) == []


def test_overwrite_replaces_with_a_guard(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    server.set_secret("app", "prd", "DIFF", "theirs")
    result = push(make_client(token), {PRD: {"DIFF": "ours"}}, overwrite=True)
    assert actions(result) == {"DIFF": Action.OVERWRITE}
    assert server.get_secret("app", "prd", "DIFF") == "ours"


def test_dry_run_writes_nothing_and_holds_no_values(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    server.set_secret("app", "prd", "DIFF", "theirs-value")
    result = push(make_client(token), {PRD: {"DIFF": "ours-value", "NEW": "new-value"}},
                  dry_run=True)
    assert result.dry_run
    assert actions(result) == {"DIFF": Action.CONFLICT, "NEW": Action.CREATE}
    assert server.secrets("app", "prd") == {"DIFF": "theirs-value"}
    assert posts(server) == []
    text = repr(result)
    assert "DIFF" in text
    assert not any(v in text for v in ("theirs-value", "ours-value", "new-value"))


def test_several_configs_one_post_each(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    many = {f"K{i}": f"v{i}" for i in range(30)}
    push(make_client(token), {PRD: many, DEV: {"ONLY_DEV": "d"}})
    assert len(posts(server)) == 2
    assert server.secrets("app", "prd") == many


def test_bad_and_managed_names_are_refused_before_any_request(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    client = make_client(token)
    for bad in ("lower", "DOPPLER_CONFIG", "9X"):
        with pytest.raises(UsageError):
            push(client, {PRD: {bad: "v"}})
    assert server.request_log == []


def test_service_token_for_another_config_refused_before_any_write(
    server: DopplerTestServer, make_client: ClientFactory
) -> None:
    st = server.issue_token("service_token", project="app", config="prd", write=True)
    with pytest.raises(DopplerError) as info:
        push(make_client(st), {PRD: {"A": "1"}, DEV: {"B": "2"}})
    assert "app/dev" in str(info.value)
    assert posts(server) == []
    assert server.secrets("app", "prd") == {}
    ok = push(make_client(st), {PRD: {"A": "1"}})
    assert actions(ok) == {"A": Action.CREATE}


def test_read_only_token_fails_with_hint(
    server: DopplerTestServer, make_client: ClientFactory
) -> None:
    st = server.issue_token("service_token", project="app", config="prd", write=False)
    with pytest.raises(DopplerError) as info:
        push(make_client(st), {PRD: {"A": "1"}})
    assert "read-only" in str(info.value)


def test_converges_through_429_500_and_a_dropped_write(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    client = make_client(token)
    server.faults.rate_limit(2, retry_after=1)
    server.faults.drop_connection_after_write(1)
    result = push(client, {PRD: {"A": "1", "B": "2"}})
    assert actions(result) == {"A": Action.CREATE, "B": Action.CREATE}
    assert server.secrets("app", "prd") == {"A": "1", "B": "2"}
    # The write applied once, the drop was detected by reading back, nothing was re-sent.
    assert posts(server) == [("A", "B")]
    server.clear_log()
    server.faults.error_after_write(1)
    server.faults.fail(1, methods=("GET",))
    push(client, {PRD: {"C": "3"}})
    assert server.get_secret("app", "prd", "C") == "3"
    assert posts(server) == [("C",)]
    statuses = [e.status for e in server.request_log]
    assert statuses.count(500) == 2


def test_write_failing_before_apply_is_resent(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    server.faults.fail(1, methods=("POST",))
    push(make_client(token), {PRD: {"A": "1"}})
    assert posts(server) == [("A",), ("A",)]
    assert server.get_secret("app", "prd", "A") == "1"


def test_slow_server_times_out_and_recovers(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    import httpx

    server.faults.slow(0.5, count=1)
    client = make_client(token, timeout=httpx.Timeout(0.2))
    result = push(client, {PRD: {"A": "1"}})
    assert actions(result) == {"A": Action.CREATE}
    assert server.get_secret("app", "prd", "A") == "1"


def test_concurrent_change_during_overwrite_is_refused(
    server: DopplerTestServer, token: str, make_client: ClientFactory
) -> None:
    from secretsync.doppler.interface import ChangeRequest

    server.set_secret("app", "prd", "A", "seen")
    client = make_client(token)
    server.set_secret("app", "prd", "A", "changed-meanwhile")
    with pytest.raises(DopplerError, match="changed"):
        client.write("app", "prd", [ChangeRequest("A", "ours", "A", "seen")])
    assert server.get_secret("app", "prd", "A") == "changed-meanwhile"


def test_read_back_mismatch_is_an_error() -> None:
    from collections.abc import Iterable, Sequence

    from secretsync.doppler.interface import (
        ChangeRequest,
        ConfigInfo,
        DopplerAPI,
        ProjectInfo,
        TokenInfo,
    )

    class LossyFake(DopplerAPI):
        """Accepts writes and forgets them: push must notice."""

        def me(self) -> TokenInfo:
            return TokenInfo("personal", "n", "s", "wp", "Work")

        def list_projects(self) -> Sequence[ProjectInfo]:
            return []

        def list_configs(self, project: str) -> Sequence[ConfigInfo]:
            return []

        def secret_names(self, project: str, config: str) -> frozenset[str]:
            return frozenset()

        def get_values(self, project: str, config: str, names: Iterable[str]) -> dict[str, str]:
            return {}

        def write(self, project: str, config: str, cr: Sequence[ChangeRequest]) -> None:
            self.written = [c.name for c in cr]

    fake = LossyFake()
    with pytest.raises(DopplerError, match="does not hold"):
        push(fake, {PRD: {"A": "1"}})
    assert fake.written == ["A"]
