"""A live node in a child process: uvicorn serving a migrated SQLite file, as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(process: subprocess.Popen[str], log: IO[str], limit: float) -> threading.Thread | None:
    """Copies uvicorn's output to the log until it says it listens, then keeps draining it so
    a full pipe never stalls the server; None if it exited or never listened. A readiness
    wait, not a timing check.

    "Uvicorn running on" comes after the socket is bound; "Application startup complete"
    comes before, and a request sent on it can meet a refused connection."""
    assert process.stdout is not None
    stdout = process.stdout
    ready = threading.Event()

    def copy() -> None:
        for line in stdout:
            log.write(line)
            log.flush()
            if "Uvicorn running on" in line:
                ready.set()

    drain = threading.Thread(target=copy, daemon=True)
    drain.start()
    # The copy ends when uvicorn exits, e.g. because another process took the port meanwhile.
    while not ready.wait(timeout=0.2) and drain.is_alive() and limit > 0:
        limit -= 0.2
    if ready.is_set():
        return drain
    process.kill()
    drain.join(timeout=10)
    return None


@contextmanager
def serving(url: str, workdir: Path, port: int | None = None) -> Iterator[str]:
    """Serves the node at ``url`` (a database already migrated) until the block ends.

    A free port can be taken by another process before uvicorn binds it (parallel test
    runs): then it is tried again on another port."""
    attempts = 3 if port is None else 1
    for _attempt in range(attempts):
        chosen = port or free_port()
        log = (workdir / f"uvicorn-{chosen}.log").open("w")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "indivisible.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(chosen),
                "--no-access-log",
                # An event stream a browser left open must not hold up the shutdown.
                "--timeout-graceful-shutdown",
                "3",
            ],
            cwd=ROOT,
            # Like the demo node: the browser tests file from web forms, which cannot sign.
            env={
                **os.environ,
                "INDIVISIBLE_DATABASE_URL": url,
                "INDIVISIBLE_ALLOW_UNSIGNED_SUBMISSIONS": "true",
                # These tests write into the served node's SQLite file from this process: a
                # sealer committing every second in the node makes such a transaction, which
                # read before the seal and writes after it, fail with SQLITE_BUSY_SNAPSHOT.
                # Sealing in a running node is tested in tests/audit/test_sealer.py.
                "INDIVISIBLE_AUDIT_SEAL_INTERVAL_SECONDS": "0",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        drain = _wait(process, log, 60.0)
        if drain is not None:
            break
        if process.stdout is not None:
            process.stdout.close()
        log.close()
    else:
        pytest.fail(f"the node did not start ({attempts} attempts); see {log.name}")
    try:
        yield f"http://127.0.0.1:{chosen}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        drain.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        log.close()
