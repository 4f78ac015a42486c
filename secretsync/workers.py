"""Worker processes die with the process that started them.

A scan's workers hold the values they found. When the scan is killed with SIGKILL no cleanup
runs, and a worker blocked on its task queue would wait forever (it holds the queue's write end
itself). Linux delivers SIGKILL to a worker whose parent dies (`PR_SET_PDEATHSIG`); everywhere,
a watchdog thread exits the worker once its parent is gone (the worker is reparented).
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 0.5


def die_with_parent(parent: int) -> None:
    """Call first thing in a worker; `parent` is the pid of the process that started it."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still holds
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="secretsync-parent-watch", daemon=True).start()


def _start(init: Callable[[], None] | None, parent: int) -> None:
    die_with_parent(parent)
    if init is not None:
        init()


def initializer(init: Callable[[], None] | None = None) -> Callable[[], None]:
    """A pool initializer that arms `die_with_parent` for this process, then runs `init`."""
    return functools.partial(_start, init, os.getpid())
