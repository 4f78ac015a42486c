"""The data that flows between pipeline stages. Values live only in memory (`repr=False`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from secretsync.detection import KeyPath


def dotted(path: KeyPath) -> str | None:
    """`('env', 0, 'value')` -> `env[0].value`; None for no path."""
    if not path:
        return None
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    """Character offsets of the value in the file's text (for rewrites)."""
    end: int
    key_path: KeyPath
    detector: str
    value: str = field(repr=False, compare=False)
    style: str = "plain"
    whole: bool = True
    """The hit is the whole scalar, so the scalar can become a reference."""
    env_name: str | None = None
    kind: str | None = None
    doc: int = 0
    environments: tuple[str, ...] = ()
    suggested_name: str = ""
    fingerprint: str = ""
    secret_id: str = ""
    message: str = ""
    context: str = ""
    """What identifies the place besides path and key path (for text lines: the key text)."""
    echo: bool = False
    """Found only because the same value was found elsewhere with context: it says nothing
    about what the value is (its key may be `args`), so it never names the secret."""

    @property
    def key_path_dotted(self) -> str | None:
        return dotted(self.key_path)


@dataclass(frozen=True, slots=True)
class SecretGroup:
    """One distinct value: one Doppler secret per environment, with every place it occurs."""

    id: str
    name: str
    detector: str
    environments: tuple[str, ...]
    findings: tuple[Finding, ...]
    dev_value: bool = False

    @property
    def value(self) -> str:
        return self.findings[0].value


@dataclass(frozen=True, slots=True)
class ScanResult:
    root: str
    findings: tuple[Finding, ...]
    secrets: tuple[SecretGroup, ...]
    warnings: tuple[str, ...]
    files_scanned: int
    files_parsed: int
    bytes_scanned: int
    suppressed: int = 0
    baselined: int = 0
    environments: tuple[str, ...] = ()
