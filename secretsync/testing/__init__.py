"""Test helpers that ship with secretsync: a Doppler-compatible server."""

from secretsync.testing.server import DopplerTestServer, Faults, LoggedRequest, running_server

__all__ = ["DopplerTestServer", "Faults", "LoggedRequest", "running_server"]
