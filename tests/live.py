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


def wait_until_serving(
    process: subprocess.Popen[str], log: IO[str], limit: float = 60.0
) -> threading.Thread:
    """Copies uvicorn's output to the log until it says it serves, then keeps draining it so
    a full pipe never stalls the server. A readiness wait, not a timing check."""
    assert process.stdout is not None
    stdout = process.stdout
    ready = threading.Event()

    def copy() -> None:
        for line in stdout:
            log.write(line)
            log.flush()
            if "Application startup complete" in line:
                ready.set()

    drain = threading.Thread(target=copy, daemon=True)
    drain.start()
    if not ready.wait(timeout=limit):
        process.kill()
        drain.join(timeout=10)
        pytest.fail(f"the node did not start; see {log.name}")
    return drain


@contextmanager
def serving(url: str, workdir: Path, port: int | None = None) -> Iterator[str]:
    """Serves the node at ``url`` (a database already migrated) until the block ends."""
    port = port or free_port()
    log = (workdir / f"uvicorn-{port}.log").open("w")
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
            str(port),
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, "INDIVISIBLE_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    drain = wait_until_serving(process, log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        drain.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        log.close()
