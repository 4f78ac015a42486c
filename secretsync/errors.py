"""One error hierarchy; the CLI maps each class to a documented exit code.

Messages must never contain a secret value or a token: they are printed as they are.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # scan found something / verify failed
EXIT_USAGE = 2  # bad arguments, bad configuration, bad input the user must fix
EXIT_BUG = 3  # anything unexpected: a bug in secretsync
EXIT_INTERRUPTED = 130


class SecretsyncError(Exception):
    """An expected failure with a message fit for the user."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class UsageError(SecretsyncError):
    """Bad command-line arguments or paths."""


class ConfigError(SecretsyncError):
    """A bad .secretsync.yaml, baseline or plan file."""


class DopplerError(SecretsyncError):
    """Doppler refused or failed a request (after retries)."""

    exit_code = EXIT_USAGE


class CredentialsError(SecretsyncError):
    """No usable Doppler token."""


class RewriteError(SecretsyncError):
    """A rewrite could not be applied safely; no file was changed."""


class ConflictError(SecretsyncError):
    """Doppler holds a different value under a name we would write."""


class DopplerHTTPError(DopplerError):
    """Doppler answered with an error status; `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
