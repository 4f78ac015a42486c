"""The Doppler API as secretsync needs it, and the plain data it speaks in.

`push` and `verify` take a `DopplerAPI`; tests hand in a fake instead of patching httpx.
No dataclass here ever holds a token; fields that hold secret values are left out of `repr`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

# Doppler's own rule for secret names.
SECRET_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Doppler adds these to every config; they never belong in a diff or a write.
MANAGED_SECRET_NAMES = frozenset({"DOPPLER_PROJECT", "DOPPLER_ENVIRONMENT", "DOPPLER_CONFIG"})


def is_valid_secret_name(name: str) -> bool:
    """True when Doppler would accept `name` as a secret name (managed names excluded)."""
    return bool(SECRET_NAME_RE.fullmatch(name)) and name not in MANAGED_SECRET_NAMES


@dataclass(frozen=True, slots=True, order=True)
class ConfigRef:
    """One Doppler config: a project slug and a config name."""

    project: str
    config: str

    def __str__(self) -> str:
        return f"{self.project}/{self.config}"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """Who a token is. Never the token itself, nor its preview."""

    type: str
    name: str
    slug: str
    workplace_slug: str
    workplace_name: str
    # Set for service tokens, which can only reach one config.
    scope: ConfigRef | None = None


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ConfigInfo:
    project: str
    name: str
    environment: str
    root: bool
    locked: bool = False


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """One entry of a batched write.

    `original_value` set means: apply only if Doppler still holds that value (Doppler's
    optimistic concurrency guard). `original_name=None` creates (or, as the Doppler CLI relies on,
    upserts) a secret.
    """

    name: str
    value: str = field(repr=False)
    original_name: str | None = None
    original_value: str | None = field(default=None, repr=False)


class Action(StrEnum):
    """What push does, or would do, with one name."""

    CREATE = "create"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # a different value exists and overwrite was not asked for
    OVERWRITE = "overwrite"  # a different value exists and will be replaced


@dataclass(frozen=True, slots=True, order=True)
class PushAction:
    """One name in one config and what happens to it. Holds no value."""

    ref: ConfigRef
    name: str
    action: Action


class DopplerAPI(ABC):
    """The calls secretsync makes to Doppler. Every method raises `DopplerError` on failure."""

    @abstractmethod
    def me(self) -> TokenInfo:
        """Describe the token in use (type, workplace; scope for service tokens)."""

    @abstractmethod
    def list_projects(self) -> Sequence[ProjectInfo]:
        """All projects the token can see."""

    @abstractmethod
    def list_configs(self, project: str) -> Sequence[ConfigInfo]:
        """All configs of `project`."""

    @abstractmethod
    def secret_names(self, project: str, config: str) -> frozenset[str]:
        """Names in a config, managed DOPPLER_* names excluded."""

    @abstractmethod
    def get_values(self, project: str, config: str, names: Iterable[str]) -> dict[str, str]:
        """Raw values of those `names` that exist; absent names are left out."""

    @abstractmethod
    def write(self, project: str, config: str, change_requests: Sequence[ChangeRequest]) -> None:
        """Apply all change requests to one config in one batched write."""

    def check_scope(self, refs: Iterable[ConfigRef]) -> None:  # noqa: B027 - optional hook
        """Raise `DopplerError` if the token cannot reach one of `refs`. Default: no limit."""

