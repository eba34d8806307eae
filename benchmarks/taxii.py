"""Benchmark Indivisible's TAXII 2.1 server against medallion, the OASIS reference server.

Both servers run as child processes on loopback, in the same run, and are driven by the same
request code: ingestion through `POST .../objects/` in envelopes, paging through everything,
and three filtered reads. The input is a STIX 2.1 bundle (MITRE ATT&CK by default), scaled to
each size with deterministic copies. See benchmarks/README.md for what is measured and why.

    .venv/bin/python benchmarks/taxii.py [BUNDLE] [--sizes 10000,100000] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = REPO.parent / "shared" / "data" / "attack" / "enterprise-attack-18.1.stix21.json"
DEFAULT_JSON = REPO / "benchmarks" / "results" / "taxii.json"
BIN = Path(sys.executable).parent
# Fixed so that every run, on every machine, posts the same ids in the same order.
COPY_NAMESPACE = uuid.UUID("6f1d3c2e-6a43-5b0e-9c51-0b8c2d6e4a17")
SHUFFLE_SEED = 2026
PAGE_LIMIT = 100
# Phases of a server we give no budget still need a finite HTTP timeout, or a hang never ends.
UNBUDGETED_REQUEST_TIMEOUT = 3600.0
STARTUP_TIMEOUT = 120.0

console = Console(stderr=True)

STIXObject = dict[str, Any]
Status = Literal["ok", "timeout", "skipped", "error"]


# --- the data ------------------------------------------------------------------------------


def load_bundle(path: Path) -> list[STIXObject]:
    with path.open(encoding="utf-8") as file:
        bundle = json.load(file)
    objects: list[STIXObject] = bundle["objects"]
    return objects


def scaled(objects: Sequence[STIXObject], size: int) -> list[STIXObject]:
    """The first `size` objects of the shuffled bundle, repeated as copies with fresh ids.

    ATT&CK's bundle is sorted by type, so a plain prefix would be all attack patterns; a
    seeded shuffle gives every size the bundle's own mix of types. Copy 0 keeps the real ids.
    """
    order = list(objects)
    random.Random(SHUFFLE_SEED).shuffle(order)  # noqa: S311 - a fixed order, not a secret
    result: list[STIXObject] = []
    copy = 0
    while len(result) < size:
        for obj in order[: size - len(result)]:
            if copy == 0:
                result.append(obj)
            else:
                fresh = uuid.uuid5(COPY_NAMESPACE, f"{copy}:{obj['id']}")
                result.append({**obj, "id": f"{obj['type']}--{fresh}"})
        copy += 1
    return result


def envelopes(objects: Sequence[STIXObject], size: int) -> list[tuple[int, bytes]]:
    """Request bodies serialised before the clock starts, so both servers get the same bytes."""
    return [
        (len(chunk), json.dumps({"objects": chunk}).encode())
        for chunk in (objects[i : i + size] for i in range(0, len(objects), size))
    ]


# --- measuring -----------------------------------------------------------------------------


class PhaseTimeout(Exception):
    """A phase ran past the time budget its server was given."""

    def __init__(self, unfinished: float) -> None:
        super().__init__(f"a request had run {unfinished:.1f} s when the budget ran out")
        self.unfinished = unfinished


class Deadline:
    """The time budget of one phase; None means no budget."""

    def __init__(self, budget: float | None) -> None:
        self.budget = budget
        self.start = time.monotonic()

    def left(self) -> float:
        if self.budget is None:
            return math.inf
        return self.budget - (time.monotonic() - self.start)

    def remaining(self) -> float:
        """The timeout for the next request."""
        if self.budget is None:
            return UNBUDGETED_REQUEST_TIMEOUT
        left = self.left()
        if left <= 0:
            raise PhaseTimeout(0.0)
        return left


@dataclasses.dataclass
class Measure:
    """One phase on one server at one size: what happened and how long it took."""

    status: Status
    elapsed: float = 0.0
    latencies: list[float] = dataclasses.field(default_factory=list)
    count: int = 0
    # How long the request in flight had been running when the budget ran out; once set, the
    # server may still be working on that request and must be restarted.
    unfinished: float | None = None
    note: str = ""

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of the request latencies, in seconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def summary(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if self.latencies:
            data |= {
                "n": len(self.latencies),
                "p50": self.percentile(50),
                "p95": self.percentile(95),
                "max": max(self.latencies),
            }
        return data


@dataclasses.dataclass
class Ingested:
    """What a server confirmed it stored: enough to rebuild medallion's memory after a restart."""

    objects: list[STIXObject]
    envelope: int
    request_timestamps: list[str]


# --- the servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


class Target(ABC):
    """One TAXII server under test: a child process on loopback, and an HTTP client for it."""

    name = ""
    # Whether recover() can load every object even when ingestion did not finish.
    preloads = False

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{self.name}.log"
        # Set by the subclasses' prepare().
        self.api_root = ""
        self.collection_id = ""
        self.auth = ""
        self.client = httpx.Client(base_url=self.base_url)

    # Subclasses say how to provision, launch and recover their server.

    @abstractmethod
    def prepare(self) -> None: ...

    @abstractmethod
    def command(self) -> list[str]: ...

    def environment(self) -> dict[str, str]:
        """Variables the server's process needs on top of ours."""
        return {}

    @abstractmethod
    def recover(self, ingested: Ingested) -> None:
        """Start afresh with the same stored objects, after a phase was abandoned mid-request.

        The abandoned request may still be burning CPU inside the server, which would slow
        every later measure; a restart gives the next phase the same store and an idle server.
        """

    # Shared by both.

    @property
    def objects_path(self) -> str:
        return f"{self.api_root}collections/{self.collection_id}/objects/"

    def status_path(self, status_id: str) -> str:
        return f"{self.api_root}status/{status_id}/"

    def start(self) -> None:
        self.prepare()
        self.launch()

    def launch(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=os.environ | self.environment(),
            )
        started = time.monotonic()
        while time.monotonic() - started < STARTUP_TIMEOUT:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at startup:\n{self.log_tail()}")
            try:
                response = self.request("GET", "/taxii2/", timeout=5)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            if response.status_code == 200:
                return
            # Up but broken: waiting longer would not help.
            raise RuntimeError(
                f"{self.name} answered /taxii2/ with {response.status_code}:\n{self.log_tail()}"
            )
        raise RuntimeError(f"{self.name} did not answer /taxii2/ in time:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        # Connections to the old process are dead; start the next one with a clean pool.
        self.client.close()
        self.client = httpx.Client(base_url=self.base_url)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def request(
        self,
        method: str,
        path: str,
        *,
        timeout: float,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        headers = {"Accept": TAXII_MEDIA_TYPE, "Authorization": self.auth}
        if content is not None:
            headers["Content-Type"] = TAXII_MEDIA_TYPE
        return self.client.request(
            method, path, params=params, content=content, headers=headers, timeout=timeout
        )


class Medallion(Target):
    """medallion 3.0.0 with its memory backend, started by its own console script."""

    name = "medallion"
    API_ROOT = "bench"

    def __init__(self, workdir: Path) -> None:
        workdir = workdir / "medallion"
        workdir.mkdir()
        super().__init__(workdir)
        self.data_path = self.workdir / "data.json"
        self.config_path = self.workdir / "config.json"

    def data(self, objects: Sequence[STIXObject], manifest: Sequence[dict[str, str]]) -> Any:
        """medallion's initial-data file: one API root holding one read-write collection."""
        return {
            "/discovery": {
                "title": "Benchmark",
                "description": "medallion under benchmark",
                "default": f"{self.base_url}/{self.API_ROOT}/",
                "api_roots": [f"{self.base_url}/{self.API_ROOT}/"],
            },
            self.API_ROOT: {
                "information": {
                    "title": "Benchmark",
                    "description": "benchmark API root",
                    "versions": [TAXII_MEDIA_TYPE],
                    # Checked against Content-Length on POST; far above any envelope we send.
                    "max_content_length": 1 << 30,
                },
                "status": [],
                "collections": [
                    {
                        "id": self.collection_id,
                        "title": "Benchmark",
                        "description": "benchmark collection",
                        "can_read": True,
                        "can_write": True,
                        "media_types": ["application/stix+json;version=2.1"],
                        "objects": list(objects),
                        "manifest": list(manifest),
                    }
                ],
            },
        }

    def prepare(self) -> None:
        self.api_root = f"/{self.API_ROOT}/"
        self.collection_id = str(uuid.uuid4())
        password = secrets.token_urlsafe(16)
        self.auth = "Basic " + base64.b64encode(f"bench:{password}".encode()).decode()
        self.data_path.write_text(json.dumps(self.data([], [])))
        config = {
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(self.data_path),
                # Paging state lives in server memory and expires 30 s after the first page by
                # default, sooner than medallion can page through 10,000 objects.
                "session_timeout": 7 * 24 * 3600,
            },
            "users": {"bench": password},
            "taxii": {"max_page_size": 1000},
        }
        self.config_path.write_text(json.dumps(config))

    def command(self) -> list[str]:
        return [
            str(BIN / "medallion"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            str(self.config_path),
        ]

    preloads = True

    def recover(self, ingested: Ingested) -> None:
        # The same state medallion's add_objects builds: the objects in arrival order and one
        # manifest entry each, dated with the request timestamp its envelope's status reported.
        # Envelopes never posted (ingestion timed out) are dated now, a microsecond apart, in
        # medallion's own format.
        stamps = list(ingested.request_timestamps)
        now = dt.datetime.now(dt.UTC)
        while len(stamps) * ingested.envelope < len(ingested.objects):
            later = now + dt.timedelta(microseconds=len(stamps))
            stamps.append(later.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        manifest = [
            {
                "id": obj["id"],
                "date_added": stamps[i // ingested.envelope],
                "version": obj.get("modified", obj.get("created")),
                "media_type": f"application/stix+json;version={obj.get('spec_version', '2.0')}",
            }
            for i, obj in enumerate(ingested.objects)
        ]
        self.stop()
        self.data_path.write_text(json.dumps(self.data(ingested.objects, manifest)))
        self.launch()


class Indivisible(Target):
    """Indivisible's node, persisting to an SQLite file, provisioned through its own CLI."""

    name = "indivisible"

    def __init__(self, workdir: Path) -> None:
        workdir = workdir / "indivisible"
        workdir.mkdir()
        super().__init__(workdir)
        self.database_url = f"sqlite:///{self.workdir / 'bench.db'}"

    def cli(self, *args: str) -> str:
        argv = [str(BIN / "indivisible"), *args, "--database-url", self.database_url]
        done = subprocess.run(  # noqa: S603 - our own argv, no shell
            argv, capture_output=True, text=True, check=False, env=os.environ | self.environment()
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def prepare(self) -> None:
        self.cli("init")
        self.cli(
            "user", "create", "bench", "--role", "liaison", "--name", "Bench", "--state", "KAZ",
            "--machine",
        )  # fmt: skip
        token = re.search(r"ind_[A-Za-z0-9_-]+", self.cli("token", "create", "bench"))
        if token is None:
            raise RuntimeError("`indivisible token create` printed no ind_… token")
        self.auth = f"Bearer {token.group(0)}"
        collection = json.loads(
            self.cli(
                "sharing", "collection", "add", "Benchmark", "--distribution", "node", "--json"
            )
        )
        self.collection_id = collection["id"]
        self.api_root = f"/taxii2/{collection['api_root']}/"

    def command(self) -> list[str]:
        return [
            str(BIN / "indivisible"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
        ]

    def recover(self, ingested: Ingested) -> None:
        # The store is the SQLite file; a restart keeps it.
        self.stop()
        self.launch()


TARGETS: dict[str, type[Target]] = {"indivisible": Indivisible, "medallion": Medallion}


# --- the phases ----------------------------------------------------------------------------


def timed(
    target: Target,
    deadline: Deadline,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    content: bytes | None = None,
) -> tuple[httpx.Response, float]:
    """One request and its latency; a request that outlives the phase's budget ends the phase."""
    started = time.perf_counter()
    try:
        response = target.request(
            method, path, params=params, content=content, timeout=deadline.remaining()
        )
    except httpx.TimeoutException:
        raise PhaseTimeout(time.perf_counter() - started) from None
    elapsed = time.perf_counter() - started
    if response.status_code >= 400:
        raise RuntimeError(
            f"{method} {path} {params}: {response.status_code} {response.text[:500]}"
        )
    return response, elapsed


def ingest(
    target: Target, bodies: Sequence[tuple[int, bytes]], deadline: Deadline
) -> tuple[Measure, list[str]]:
    """POST every envelope; the clock stops when every status resource says complete."""
    measure = Measure("ok")
    timestamps: list[str] = []
    failures = 0
    started = time.perf_counter()
    try:
        for count, body in bodies:
            request_started = time.perf_counter()
            response, _ = timed(target, deadline, "POST", target.objects_path, content=body)
            status = response.json()
            while status["status"] != "complete":
                time.sleep(0.05)
                status = timed(target, deadline, "GET", target.status_path(status["id"]))[0].json()
            measure.latencies.append(time.perf_counter() - request_started)
            measure.count += status["success_count"]
            failures += status["failure_count"]
            timestamps.append(status["request_timestamp"])
            if status["total_count"] != count:
                measure.note += f"an envelope of {count} got a status of {status['total_count']}; "
    except PhaseTimeout as timeout:
        measure.status = "timeout"
        measure.unfinished = timeout.unfinished
    measure.elapsed = time.perf_counter() - started
    if failures:
        measure.note += f"{failures} objects failed; "
    return measure, timestamps


def page_all(target: Target, deadline: Deadline) -> Measure:
    """GET ?limit=100, following `next` while `more` is true."""
    measure = Measure("ok")
    params = {"limit": str(PAGE_LIMIT)}
    started = time.perf_counter()
    try:
        while True:
            response, latency = timed(target, deadline, "GET", target.objects_path, params)
            measure.latencies.append(latency)
            # An empty page may come as {}: no objects and no `more`.
            envelope = response.json()
            measure.count += len(envelope.get("objects", []))
            if not envelope.get("more"):
                break
            params = {"limit": str(PAGE_LIMIT), "next": str(envelope["next"])}
    except PhaseTimeout as timeout:
        measure.status = "timeout"
        measure.unfinished = timeout.unfinished
    measure.elapsed = time.perf_counter() - started
    return measure


Check = Callable[[httpx.Response], str | None]


@dataclasses.dataclass(frozen=True)
class Read:
    """A filtered read: its query, and what its answer must satisfy to count."""

    phase: str
    params: dict[str, str]
    check: Check


def repeated_read(target: Target, deadline: Deadline, read: Read, options: Options) -> Measure:
    """The same GET `options.repeat` times, or fewer (at least one) past the read budget."""
    measure = Measure("ok")
    started = time.perf_counter()
    try:
        while len(measure.latencies) < options.repeat:
            if measure.latencies and time.perf_counter() - started > options.read_budget:
                measure.note += f"stopped by the read budget after {len(measure.latencies)}; "
                break
            # A repeat that cannot finish in the phase's budget would only be abandoned.
            if measure.latencies and deadline.left() < max(measure.latencies):
                measure.note += f"stopped by the phase budget after {len(measure.latencies)}; "
                break
            response, latency = timed(target, deadline, "GET", target.objects_path, read.params)
            measure.latencies.append(latency)
            problem = read.check(response)
            if problem:
                measure.status = "error"
                measure.note += problem
                break
            measure.count = len(response.json().get("objects", []))
    except PhaseTimeout as timeout:
        # Samples that finished stand; only a read with none has no figure but a bound.
        if not measure.latencies:
            measure.status = "timeout"
        else:
            measure.note += f"a repeat outran the phase budget after {len(measure.latencies)}; "
        measure.unfinished = timeout.unfinished
    measure.elapsed = time.perf_counter() - started
    return measure


def by_id(object_id: str) -> Read:
    def check(response: httpx.Response) -> str | None:
        ids = [obj["id"] for obj in response.json().get("objects", [])]
        return None if ids == [object_id] else f"match[id]={object_id} answered {ids[:5]}"

    return Read("match_id", {"match[id]": object_id}, check)


def by_type(kind: str) -> Read:
    def check(response: httpx.Response) -> str | None:
        kinds = [obj["type"] for obj in response.json().get("objects", [])]
        if not kinds or set(kinds) != {kind}:
            return f"match[type]={kind} answered {kinds[:5]}"
        return None

    return Read("match_type", {"match[type]": kind, "limit": str(PAGE_LIMIT)}, check)


def added_after(timestamp: str) -> Read:
    def check(response: httpx.Response) -> str | None:
        first = response.headers.get("X-TAXII-Date-Added-First")
        if not response.json().get("objects") or first is None:
            return f"added_after={timestamp} answered no objects"
        if parse_timestamp(first) <= parse_timestamp(timestamp):
            return f"added_after={timestamp} answered an object added {first}"
        return None

    return Read("added_after", {"added_after": timestamp, "limit": str(PAGE_LIMIT)}, check)


def parse_timestamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- one server at one size ----------------------------------------------------------------


@dataclasses.dataclass
class Options:
    envelope: int
    repeat: int
    read_budget: float


READS = ("match_id", "match_type", "added_after")
PHASES = ("ingest", *READS, "page_all")


def run_target(
    kind: type[Target], objects: list[STIXObject], options: Options, budget: float | None
) -> dict[str, Measure]:
    """Every phase, in order, on a fresh server and store; a timeout restarts the server."""
    results: dict[str, Measure] = {}
    with tempfile.TemporaryDirectory(prefix="taxii-bench-") as tmp:
        target = kind(Path(tmp))
        label = f"{target.name} {len(objects):,}"

        def record(phase: str, measure: Measure) -> None:
            results[phase] = measure
            log_measure(label, phase, measure)

        try:
            console.log(f"{label}: starting")
            target.start()
            bodies = envelopes(objects, options.envelope)
            console.log(f"{label}: posting {len(bodies)} envelopes of up to {options.envelope}")
            ingestion, timestamps = ingest(target, bodies, Deadline(budget))
            record("ingest", ingestion)
            if ingestion.count != len(objects):
                ingestion.note += f"stored {ingestion.count} of {len(objects)}; "
            ingested = Ingested(objects, options.envelope, timestamps)
            if ingestion.status == "timeout" and target.preloads:
                console.log(f"{label}: loading every object from the data file for the reads")
                target.recover(ingested)
                ingestion.note += "the reads ran on all objects, preloaded from the data file; "
            elif ingestion.status != "ok":
                return results

            # The read by id goes first: its answer dates an object, and added_after needs one
            # from the middle of the store.
            middle = objects[len(objects) // 2]["id"]
            reads = [by_id(middle), by_type("attack-pattern")]
            for index, read in enumerate(reads):
                record(read.phase, repeated_read(target, Deadline(budget), read, options))
                if results[read.phase].unfinished is not None:
                    console.log(f"{label}: restarting, rid of the abandoned request")
                    target.recover(ingested)
                if index == 0:
                    stamp = date_added(target, middle)
                    if stamp:
                        reads.append(added_after(stamp))
                    else:
                        note = f"match[id]={middle} answered no X-TAXII-Date-Added-First"
                        record("added_after", Measure("skipped", note=note))

            # Last, because at large sizes medallion's first page outlasts any budget.
            record("page_all", page_all(target, Deadline(budget)))
            paged = results["page_all"]
            if paged.status == "ok" and paged.count != ingestion.count:
                paged.note += f"paged {paged.count} objects of {ingestion.count} stored; "
        except Exception as error:  # one broken server must not lose the other's figures
            console.log(f"[red]{label}: {error}[/red]\n{target.log_tail()}")
            for phase in PHASES:
                results.setdefault(phase, Measure("error", note=str(error)[:2000]))
        finally:
            target.stop()
            target.client.close()
    for phase in PHASES:
        results.setdefault(phase, Measure("skipped", note="an earlier phase did not finish"))
    return results


def date_added(target: Target, object_id: str) -> str | None:
    """When the server says it added the object: TAXII's X-TAXII-Date-Added-First header."""
    response, _ = timed(
        target, Deadline(None), "GET", target.objects_path, {"match[id]": object_id}
    )
    stamp: str | None = response.headers.get("X-TAXII-Date-Added-First")
    return stamp


def log_measure(label: str, name: str, measure: Measure) -> None:
    p50 = measure.percentile(50)
    detail = f"{measure.elapsed:.2f} s, {measure.count:,} objects"
    if p50 is not None:
        detail += f", p50 {p50 * 1000:.1f} ms over {len(measure.latencies)} requests"
    console.log(f"{label}: {name} {measure.status}: {detail} {measure.note}")


# --- the report ----------------------------------------------------------------------------

Better = Literal["higher", "lower"]


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    phase: str
    unit: str
    better: Better
    value: Callable[[Measure], float | None]
    # A bound that still holds when the phase timed out: a rate it stayed under, or a time it
    # exceeded. None when a timeout leaves nothing to say.
    bound: Callable[[Measure], float | None]


def rate(measure: Measure) -> float | None:
    return measure.count / measure.elapsed if measure.elapsed else None


def elapsed(measure: Measure) -> float | None:
    return measure.elapsed


def slowest(measure: Measure) -> float | None:
    return max(measure.latencies, default=None)


def unfinished(measure: Measure) -> float | None:
    return measure.unfinished


def nothing(measure: Measure) -> float | None:
    return None


def latency(percent: int) -> Callable[[Measure], float | None]:
    return lambda measure: measure.percentile(percent)


READ_LABELS = {"match_type": "match[type]", "match_id": "match[id]", "added_after": "added_after"}
ROWS = (
    Row("ingest", "ingest", "objects/s", "higher", rate, rate),
    Row("page all: total", "page_all", "s", "lower", elapsed, elapsed),
    Row("page all: p50", "page_all", "ms", "lower", latency(50), nothing),
    Row("page all: p95", "page_all", "ms", "lower", latency(95), nothing),
    Row("page all: max", "page_all", "ms", "lower", slowest, unfinished),
    *(
        Row(f"{label}: p{percent}", phase, "ms", "lower", latency(percent), unfinished)
        for phase, label in READ_LABELS.items()
        for percent in (50, 95)
    ),
)
CAPTION = (
    "ratio > 1: Indivisible is better (medallion time / Indivisible time, or the inverse for "
    "rates). Reads: match[type]=attack-pattern and added_after=<the date_added of an object "
    "from the middle> take the first page of 100; match[id] asks for that object."
)


def figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def shown(row: Row, measure: Measure | None, repeat: int) -> tuple[str, float | None, str]:
    """The cell's text, the figure a ratio can use, and how that figure binds ('', '<' or '>').

    A read the budget cut short says on how many samples its percentiles stand.
    """
    if measure is None:
        return "—", None, ""
    scale = 1000 if row.unit == "ms" else 1
    if measure.status == "ok":
        value = row.value(measure)
        if value is None:
            return "—", None, ""
        text = f"{figure(value * scale)} {row.unit}"
        if row.phase in READS and len(measure.latencies) < repeat:
            text += f" (n={len(measure.latencies)})"
        return text, value, ""
    if measure.status == "timeout":
        bound = row.bound(measure)
        if bound is None:
            return "timeout", None, ""
        sign = "<" if row.better == "higher" else ">"
        return f"timeout ({sign} {figure(bound * scale)} {row.unit})", bound, sign
    return measure.status, None, ""


def ratio(
    row: Row, ours: tuple[str, float | None, str], theirs: tuple[str, float | None, str]
) -> str:
    """>1 means Indivisible did better. A medallion bound turns the ratio into a bound."""
    _, mine, my_sign = ours
    _, other, other_sign = theirs
    if not mine or not other or my_sign:
        return "—"
    figure = mine / other if row.better == "higher" else other / mine
    # Medallion's rate stayed under its bound, or its time exceeded it: both make ours better.
    return f"{'> ' if other_sign else ''}{figure:,.2f}×"


def table(results: dict[int, dict[str, dict[str, Measure]]], repeat: int) -> Table:
    grid = Table(
        title="TAXII 2.1: Indivisible (SQLite) vs medallion 3.0.0 (memory backend)",
        caption=escape(CAPTION),
    )
    for column in ("measure", "objects", "indivisible", "medallion", "ratio"):
        grid.add_column(column, justify="left" if column == "measure" else "right")
    for size, servers in results.items():
        for row in ROWS:
            ours = shown(row, servers.get("indivisible", {}).get(row.phase), repeat)
            theirs = shown(row, servers.get("medallion", {}).get(row.phase), repeat)
            grid.add_row(
                escape(row.label), f"{size:,}", ours[0], theirs[0], ratio(row, ours, theirs)
            )
        grid.add_section()
    return grid


PACKAGES = ("indivisible", "medallion", "flask", "werkzeug", "httpx", "sqlalchemy", "uvicorn")


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        # Taken before the run: other work on the machine shows in the figures.
        "load_average": os.getloadavg(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version,
        "packages": {name: package_version(name) for name in PACKAGES},
    }


# --- the command ---------------------------------------------------------------------------


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "bundle",
        nargs="?",
        type=Path,
        default=DEFAULT_BUNDLE,
        help="STIX 2.1 bundle (default: ATT&CK 18.1 under ../shared)",
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="object counts, comma-separated (default: 10000,100000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke test: 2,000 objects, 5 repeats"
    )
    parser.add_argument("--envelope", type=int, default=500, help="objects per POST (default: 500)")
    parser.add_argument(
        "--repeat", type=int, default=20, help="repeats of each filtered read (default: 20)"
    )
    parser.add_argument(
        "--read-budget",
        type=float,
        default=60.0,
        help="seconds after which a filtered read stops repeating, with at least one sample (default: 60)",
    )
    parser.add_argument(
        "--medallion-timeout",
        type=float,
        default=1200.0,
        help="seconds medallion gets per phase before it is recorded as a timeout (default: 1200; 0 for none)",
    )
    parser.add_argument("--only", choices=sorted(TARGETS), help="run one server only")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help=f"where to write the results (default: {DEFAULT_JSON.relative_to(REPO)})",
    )
    return parser.parse_args(argv)  # fmt: skip


def write_report(
    path: Path,
    args: argparse.Namespace,
    options: Options,
    host: dict[str, Any],
    results: dict[int, dict[str, dict[str, Measure]]],
) -> None:
    report = {
        "benchmark": "taxii",
        "written": dt.datetime.now(dt.UTC).isoformat(),
        "bundle": str(args.bundle),
        "options": dataclasses.asdict(options)
        | {"page_limit": PAGE_LIMIT, "medallion_timeout": args.medallion_timeout or None},
        "machine": host,
        "results": [
            {
                "size": size,
                "server": name,
                "measures": {phase: measure.summary() for phase, measure in measures.items()},
            }
            for size, servers in results.items()
            for name, measures in servers.items()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    sizes = [2000] if args.quick else [int(size) for size in args.sizes.split(",")]
    options = Options(
        envelope=args.envelope,
        repeat=5 if args.quick else args.repeat,
        read_budget=args.read_budget,
    )
    chosen = [args.only] if args.only else list(TARGETS)
    budgets = {"indivisible": None, "medallion": args.medallion_timeout or None}
    for name in chosen:
        if not (BIN / name).exists():
            console.log(f"[red]{BIN / name} is missing: run scripts/bench, which installs it[/red]")
            return 2

    host = machine()
    console.log(f"loading {args.bundle}")
    bundle = load_bundle(args.bundle)
    results: dict[int, dict[str, dict[str, Measure]]] = {}
    for size in sizes:
        objects = scaled(bundle, size)
        results[size] = {}
        for name in chosen:
            results[size][name] = run_target(TARGETS[name], objects, options, budgets[name])
            # Written after every server, so hours of figures survive a later failure.
            write_report(args.json, args, options, host, results)
    console.log(f"wrote {args.json}")

    # The table is the result, so it goes to stdout, wide enough to stay legible in a file.
    Console(width=None if sys.stdout.isatty() else 120).print(table(results, options.repeat))
    broken = any(
        measure.status == "error"
        for servers in results.values()
        for measures in servers.values()
        for measure in measures.values()
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
