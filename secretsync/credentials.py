"""Where the Doppler token comes from: `DOPPLER_TOKEN`, else the OS keyring. Never argv."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from secretsync.errors import CredentialsError

KEYRING_SERVICE = "secretsync"
KEYRING_USER = "doppler-token"
ENV_VAR = "DOPPLER_TOKEN"

_NO_KEYRING_HINT = (
    "set DOPPLER_TOKEN in the environment instead (for example from your CI's secret store)"
)


@dataclass(frozen=True, slots=True)
class Token:
    """A Doppler token and where it was found. The value never shows in repr."""

    value: str = field(repr=False)
    source: str  # "env" or "keyring"

    def __str__(self) -> str:
        return f"<Doppler token from {self.source}>"


def get_token(env: Mapping[str, str] | None = None, *, offline: str | None = None) -> Token:
    """The token from `DOPPLER_TOKEN`, else the keyring; `CredentialsError` when neither has one.
    `offline`: the command's way to run without Doppler, named in the hint."""
    env = os.environ if env is None else env
    from_env = (env.get(ENV_VAR) or "").strip()
    if from_env:
        return Token(from_env, "env")
    try:
        stored = _keyring_call("read the token from", "get_password")
        no_keyring = None
    except CredentialsError:
        stored, no_keyring = None, "no OS keyring is available"
    if stored and stored.strip():
        return Token(stored.strip(), "keyring")
    # What is missing comes first; the keyring's failure is a detail, not the headline.
    hint = ("set DOPPLER_TOKEN (for example from your CI's secret store)" if no_keyring else
            "run `secretsync auth login`, or set DOPPLER_TOKEN")
    if offline:
        hint += f"; or run {offline} to work without Doppler"
    raise CredentialsError(
        "no Doppler token: DOPPLER_TOKEN is not set and "
        + (no_keyring or "the keyring holds none"),
        hint=hint,
    )


def store_token(token: str) -> None:
    """Save the token in the OS keyring."""
    token = token.strip()
    if not token:
        raise CredentialsError("refusing to store an empty token")
    _keyring_call("store the token in", "set_password", token)


def delete_token() -> bool:
    """Remove the stored token; False when there was none."""
    if _keyring_call("read the token from", "get_password") is None:
        return False
    _keyring_call("remove the token from", "delete_password")
    return True


def _keyring_call(what: str, method: str, *args: str) -> str | None:
    try:
        import keyring
    except Exception:  # a broken install must read as "no keyring", with the way out
        raise CredentialsError(
            f"could not {what} the OS keyring: keyring is not importable", hint=_NO_KEYRING_HINT
        ) from None
    try:
        result = getattr(keyring, method)(KEYRING_SERVICE, KEYRING_USER, *args)
    except Exception as exc:
        # Only the exception's type: a backend's message could echo what it was given.
        raise CredentialsError(
            f"could not {what} the OS keyring ({type(exc).__name__})", hint=_NO_KEYRING_HINT
        ) from None
    return result if isinstance(result, str) else None
