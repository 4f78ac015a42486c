"""Push semantics: create what is missing, leave equal values alone, never silently overwrite.

For each config: read what is there, classify every name (create / unchanged / conflict /
overwrite), send one batched write, read back and compare. Dry runs stop after classifying.
Results hold names and actions only, never values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from secretsync.doppler.interface import (
    MANAGED_SECRET_NAMES,
    Action,
    ChangeRequest,
    ConfigRef,
    DopplerAPI,
    PushAction,
    is_valid_secret_name,
)
from secretsync.errors import DopplerError, UsageError


@dataclass(frozen=True, slots=True)
class ConfigPushResult:
    """What happened in one config."""

    ref: ConfigRef
    actions: tuple[PushAction, ...]
    written: bool  # a write was sent and its read-back matched

    def names(self, action: Action) -> tuple[str, ...]:
        return tuple(a.name for a in self.actions if a.action is action)


@dataclass(frozen=True, slots=True)
class PushResult:
    """The whole push; `dry_run` results describe what would happen."""

    configs: tuple[ConfigPushResult, ...]
    dry_run: bool
    overwrite: bool

    @property
    def actions(self) -> tuple[PushAction, ...]:
        return tuple(a for c in self.configs for a in c.actions)

    @property
    def conflicts(self) -> tuple[PushAction, ...]:
        return tuple(a for a in self.actions if a.action is Action.CONFLICT)

    def count(self, action: Action) -> int:
        return sum(1 for a in self.actions if a.action is action)


def classify(current: Mapping[str, str], desired: Mapping[str, str], *, overwrite: bool,
             ref: ConfigRef) -> tuple[PushAction, ...]:
    """Compare desired values with what Doppler holds; no I/O."""
    actions = []
    for name in sorted(desired):
        if name not in current:
            action = Action.CREATE
        elif current[name] == desired[name]:
            action = Action.UNCHANGED
        else:
            action = Action.OVERWRITE if overwrite else Action.CONFLICT
        actions.append(PushAction(ref, name, action))
    return tuple(actions)


def push(
    api: DopplerAPI,
    desired: Mapping[ConfigRef, Mapping[str, str]],
    *,
    overwrite: bool = False,
    dry_run: bool = False,
) -> PushResult:
    """Bring each config to hold the desired values, as far as policy allows.

    Conflicts (a different value already there) are reported and left alone unless `overwrite`.
    Raises `DopplerError` if a read-back after writing does not match.
    """
    _validate(desired)
    # Refuse before any read or write when the token cannot reach every config.
    api.check_scope(desired)
    planned: list[tuple[ConfigRef, tuple[PushAction, ...], dict[str, str]]] = []
    for ref in sorted(desired):
        wanted = desired[ref]
        current = api.get_values(ref.project, ref.config, wanted) if wanted else {}
        planned.append((ref, classify(current, wanted, overwrite=overwrite, ref=ref), current))
    if dry_run:
        return PushResult(
            tuple(ConfigPushResult(ref, acts, False) for ref, acts, _ in planned), True, overwrite
        )
    results = []
    for ref, acts, current in planned:
        wanted = desired[ref]
        changes = [
            ChangeRequest(
                name=a.name,
                value=wanted[a.name],
                original_name=None if a.action is Action.CREATE else a.name,
                # Guards against a change made between our read and this write.
                original_value=current.get(a.name) if a.action is Action.OVERWRITE else None,
            )
            for a in acts
            if a.action in (Action.CREATE, Action.OVERWRITE)
        ]
        if changes:
            api.write(ref.project, ref.config, changes)
            _verify(api, ref, {c.name: c.value for c in changes})
        results.append(ConfigPushResult(ref, acts, bool(changes)))
    return PushResult(tuple(results), False, overwrite)


def _verify(api: DopplerAPI, ref: ConfigRef, written: Mapping[str, str]) -> None:
    after = api.get_values(ref.project, ref.config, written)
    wrong = sorted(n for n, v in written.items() if after.get(n) != v)
    if wrong:
        raise DopplerError(
            f"after writing to {ref}, Doppler does not hold the values just written for: "
            + ", ".join(wrong),
            hint="another writer may have changed them concurrently; run push again to compare",
        )


def _validate(desired: Mapping[ConfigRef, Mapping[str, str]]) -> None:
    for ref, values in desired.items():
        for name, value in values.items():
            if name in MANAGED_SECRET_NAMES:
                raise UsageError(f"{name} is managed by Doppler and cannot be pushed ({ref})")
            if not is_valid_secret_name(name):
                raise UsageError(
                    f"{name!r} is not a valid Doppler secret name ({ref})",
                    hint="use uppercase letters, digits and _, not starting with a digit",
                )
            if not isinstance(value, str) or value == "":
                raise UsageError(f"{name} in {ref} has an empty value")
