"""Helpers shared by the Doppler tests."""

from __future__ import annotations

from collections.abc import Callable

from secretsync.doppler.client import DopplerClient

ClientFactory = Callable[..., DopplerClient]


class FakeSleep:
    """Records requested sleeps and advances a fake clock instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.calls: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now
