"""Which replica of a service this process is, for rows that say who did the work."""

from __future__ import annotations

import os
import socket


def replica_name() -> str:
    """host:pid: a pod's name and the process within it."""
    return f"{socket.gethostname()}:{os.getpid()}"
