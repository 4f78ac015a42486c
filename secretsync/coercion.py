"""Command-line values converted without pydantic, where that is plain.

typer converts every option value through a pydantic TypeAdapter; importing pydantic and
building the adapters costs about 0.3 CPU seconds per run, more than scanning a thousand
files. The values secretsync takes are plain (text, integers, paths, choices, lists of them):
those are converted here. Anything else, and any value that does not convert cleanly, goes
to typer's own conversion, so its checks and error messages are unchanged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

_INT = re.compile(r"[-+]?[0-9]+")


class _Slow(Exception):
    """This value is typer's to convert (and, if it is wrong, to explain)."""


def _leaf(annotation: Any, info: Any) -> Callable[[Any, Any], Any] | None:
    if getattr(info, "parser", None) is not None:
        return None
    if annotation is bool:
        def flag(value: Any, _ctx: Any) -> Any:
            if isinstance(value, bool):
                return value
            raise _Slow
        return flag
    if annotation is str:
        def text(value: Any, _ctx: Any) -> Any:
            if isinstance(value, str):
                return value
            raise _Slow
        return text
    if annotation is int and info.min is None and info.max is None:
        def integer(value: Any, _ctx: Any) -> Any:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _INT.fullmatch(value):
                return int(value)
            raise _Slow
        return integer
    if annotation is Path and (
            info.path_type is None and not info.resolve_path and not info.allow_dash
            and not info.exists and info.file_okay and info.dir_okay and not info.writable):
        def path(value: Any, _ctx: Any) -> Any:
            if not isinstance(value, (str, Path)):
                raise _Slow
            # typer refuses an existing path it cannot read (`readable`, on by default).
            if info.readable and os.path.exists(value) and not os.access(value, os.R_OK):
                raise _Slow
            return Path(value)
        return path
    if isinstance(annotation, type) and issubclass(annotation, Enum) and info.case_sensitive:
        members = {m.value: m for m in annotation if isinstance(m.value, str)}

        def choice(value: Any, ctx: Any) -> Any:
            if isinstance(value, annotation):
                return value
            if (isinstance(value, str) and value in members
                    and getattr(ctx, "token_normalize_func", None) is None):
                return members[value]
            raise _Slow
        return choice
    return None


def converter(annotation: Any, info: Any) -> Callable[[Any, Any], Any] | None:
    """A conversion for `annotation` (as typer resolved it, `X | None` already unwrapped),
    or None when typer's own is needed."""
    if get_origin(annotation) is list:
        args = get_args(annotation)
        leaf = _leaf(args[0], info) if len(args) == 1 else None
        if leaf is None:
            return None

        def many(value: Any, ctx: Any) -> Any:
            if not isinstance(value, (list, tuple)):
                raise _Slow
            return [leaf(v, ctx) for v in value]
        return many
    return _leaf(annotation, info)


class PlainParam:
    """Stands in for typer's RuntimeParam (its `coerce` is all typer calls)."""

    __slots__ = ("build_slow", "convert", "slow")

    def __init__(self, convert: Callable[[Any, Any], Any], build_slow: Callable[[], Any]):
        self.convert = convert
        self.build_slow = build_slow
        self.slow: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        if not (multi and isinstance(value, str)):
            try:
                return self.convert(value, ctx)
            except _Slow:
                pass
        if self.slow is None:
            self.slow = self.build_slow()
        return self.slow.coerce(value, param=param, ctx=ctx)


def install() -> None:
    """Route typer's conversion of plain parameters through `converter`. A typer without
    these internals (older or newer than the tested one) keeps its own conversion: slower to
    start, never broken."""
    try:
        from typer import core
        from typer._coercion import build_runtime_param

        cls: Any = core._TyperParameter
        cls.get_runtime_param  # noqa: B018 (the method replaced below must exist)
    except (ImportError, AttributeError):
        return
    if getattr(cls, "_secretsync_plain", False):
        return

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            desc = self.type_descriptor
            convert = None if desc.file_annotation is not None else converter(
                desc.annotation, desc.parameter_info)
            self._runtime_param = (
                build_runtime_param(desc) if convert is None
                else PlainParam(convert, lambda: build_runtime_param(desc)))
        return self._runtime_param

    cls.get_runtime_param = get_runtime_param
    cls._secretsync_plain = True
