"""Which local process owns a TCP client port: how a local service finds the environment calling it.

Linux only, as the rest of the runtime (process groups, SIGKILL): ``/proc/net/tcp`` and ``tcp6``
list every socket with its local address and inode (proc(5)), and ``/proc/<pid>/fd`` links each
open socket to ``socket:[<inode>]``. Only the candidate processes' descriptors are read.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["process_owning_port"]

_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def _socket_inodes(port: int) -> set[str]:
    """Inodes of the sockets whose *local* port is ``port`` (the client's end of a connection)."""
    inodes: set[str] = set()
    for table in _TABLES:
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    inodes.discard("0")
    return inodes


def process_owning_port(port: int, pids: Iterable[int]) -> int | None:
    """The first of ``pids`` holding a socket bound locally to ``port``; None if none does."""
    wanted = {f"socket:[{inode}]" for inode in _socket_inodes(port)}
    if not wanted:
        return None
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        with contextlib.suppress(OSError):
            for fd in os.listdir(fd_dir):
                with contextlib.suppress(OSError):
                    if os.readlink(f"{fd_dir}/{fd}") in wanted:
                        return pid
    return None
