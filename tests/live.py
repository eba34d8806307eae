"""A live node in a child process: uvicorn serving a migrated SQLite file, as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
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


def _uvicorn(port: int) -> list[str]:
    return [
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
        # An event stream a browser left open must not hold up the shutdown.
        "--timeout-graceful-shutdown",
        "3",
    ]


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
            _uvicorn(chosen),
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


class Node:
    """A node's uvicorn process that a test may kill with SIGKILL and start again on the same
    port and database, as a crash and the supervisor's restart would; ``env`` is added to the
    environment (settings as INDIVISIBLE_* variables). Unlike serving(), nothing is set for
    the test: the caller chooses signed submissions, the sealer and so on."""

    def __init__(
        self, url: str, workdir: Path, env: Mapping[str, str] | None = None, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {}), "INDIVISIBLE_DATABASE_URL": url}
        self.log_path = workdir / f"node-{self.port}.log"
        self.starts = 0
        self._process: subprocess.Popen[str] | None = None
        self._drain: threading.Thread | None = None
        self._log: IO[str] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, limit: float = 90.0) -> None:
        """Starts uvicorn and waits until it listens (a readiness wait, not a timing check).
        The port was this node's a moment ago; should another process take it meanwhile, a
        few more tries, then the test fails naming the log."""
        assert not self.running, "the node is running already"
        for attempt in range(3):
            self._log = self.log_path.open("a")
            self._log.write(f"--- start {self.starts + 1} (attempt {attempt + 1}) ---\n")
            self._log.flush()
            process = subprocess.Popen(
                _uvicorn(self.port),
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            drain = _wait(process, self._log, limit)
            if drain is not None:
                self._process, self._drain = process, drain
                self.starts += 1
                return
            self._close(process)
            time.sleep(1.0)
        pytest.fail(f"the node did not start on port {self.port}; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, open transactions die with the process."""
        process = self._process
        assert process is not None, "the node is not running"
        process.kill()
        process.wait(timeout=30)
        self._close(process)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as an operator stops the node."""
        process = self._process
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        self._close(process)

    def _close(self, process: subprocess.Popen[str]) -> None:
        if self._drain is not None and process is self._process:
            self._drain.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
        self._process, self._drain, self._log = None, None, None

    def __enter__(self) -> Node:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
