"""Load benchmark: many concurrent clients send a realistic mix of API calls to a node served
by several uvicorn workers on PostgreSQL; throughput, latency percentiles and errors at each
level of concurrency, against the target p99 < 200 ms with no errors at 50 clients.

The node is built from scratch in a database of its own (reference data, the demo's accounts,
notifications, crisis and synthetic events, then the benchmark's own accounts, signing keys,
crisis decision, TAXII objects and notifications), served on a free loopback port, and driven
by load-generator processes: closed-loop asyncio clients, one keep-alive connection each, for
a fixed time per level after a warm-up. See benchmarks/README.md for the mix and the caveats.

    .venv/bin/python benchmarks/load.py [--levels 10,50,200] [--duration 30] [--workers 2]
    .venv/bin/python benchmarks/load.py --quick --database-url sqlite:////tmp/load.db
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

try:
    import httpx
except ModuleNotFoundError:  # the test extra installs only its successor, same API
    import httpx2 as httpx  # type: ignore[no-redef, unused-ignore]

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "benchmarks" / "results" / "load.json"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/indivisible_load"
# Written on the database (a comment on it) or beside the SQLite file when the benchmark
# creates it: only a database carrying it is dropped without --reset.
MARK = "Indivisible load benchmark (benchmarks/load.py): dropped and recreated on every run"
TARGET_CLIENTS = 50
TARGET_P99_MS = 200.0
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
REQUEST_TIMEOUT = 30.0
PRIMING_LIMIT = 900.0
STARTUP_TIMEOUT = 180.0
# CSTO members with a point near China in the CBM demo: their liaison officers both notify
# activities (routed under the Shanghai Five agreements) and vote on CSTO decisions.
LIAISON_STATES = ("KAZ", "RUS", "KGZ", "TJK")
ANALYST_STATES = ("KAZ", "RUS")
ORGANISATIONS = ("CSTO", "SCO", "CIS", "EAEU", "CICA")
TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
MALWARE_FAMILIES = ("Load Demo Alpha", "Load Demo Beta", "Load Demo Gamma", "Load Demo Delta")


@dataclass(frozen=True)
class Operation:
    name: str
    weight: float
    writes: bool
    what: str


# Weights per 100 requests of a liaison officer; analysts draw from the reads only (their
# weights renormalised), so with four liaison officers to two analysts about 15% of all
# requests write. The JSON records what was actually sent.
MIX: tuple[Operation, ...] = (
    Operation("cbm_inbox", 17, False, "GET /api/v1/cbm/notifications?box=inbox&limit=20"),
    Operation("cbm_notification", 8, False, "GET /api/v1/cbm/notifications/{id} (its state's)"),
    Operation("crisis_list", 6, False, "GET /api/v1/crisis/crises"),
    Operation("crisis_get", 6, False, "GET /api/v1/crisis/crises/{id} (the one being decided)"),
    Operation("warning_alerts", 6, False, "GET /api/v1/warning/alerts"),
    # A worker's first dashboard trains the backtest (seconds to minutes): the benchmark
    # primes every worker before the levels (benchmarks/README.md, "The forecast dashboard").
    Operation("warning_dashboard", 1, False, "GET /api/v1/warning/dashboard?country=<its state>"),
    Operation(
        "registry_members", 9, False, "GET /api/v1/registry/organisations/{org}/members?on=<date>"
    ),
    Operation(
        "taxii_objects",
        13,
        False,
        "GET /taxii2/node/collections/{id}/objects/?match[type]&limit=50",
    ),
    Operation("taxii_poll", 13, False, "GET .../objects/?added_after=<last seen>&limit=100"),
    Operation("cbm_notify", 8, True, "POST /api/v1/cbm/notifications (signed)"),
    Operation("crisis_position", 6, True, "POST /api/v1/crisis/decisions/{id}/positions (signed)"),
    Operation("taxii_add", 8, True, "POST .../objects/: indicator, malware, relationship"),
    # Not in the mix: what any request costs here (the harness, uvicorn, the middleware, no
    # token and no database). `--mix` with this alone measures the floor under the target.
    Operation("node_health", 0, False, "GET /api/v1/health (the floor; not in the mix)"),
)
WRITES = {op.name: op.writes for op in MIX}
# Run alone after the mix, in the same run and on the same node: what any request costs here
# (the harness, uvicorn and the middleware), then the cheapest authenticated read (a token,
# a session and two short lists). If the second misses the target alone, no mix can meet it.
CONTROLS = ("node_health", "warning_alerts")


# --- small helpers ---------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    rank = max(1, math.ceil(p / 100 * len(values)))
    return values[rank - 1]


def summary(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "throughput": len(ordered) / seconds if seconds > 0 else None,
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1] if ordered else None,
        "mean_ms": sum(ordered) / len(ordered) if ordered else None,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stix_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def stix_report(rng: random.Random) -> list[dict[str, Any]]:
    """What a state shares about one address: an indicator, the malware it points to and the
    relationship between them, with fresh ids. Addresses come from a small documentation
    range so that reports correlate, as real ones about the same infrastructure do."""
    moment = stix_time(datetime.now(UTC))
    indicator = f"indicator--{uuid.uuid4()}"
    malware = f"malware--{uuid.uuid4()}"
    address = f"198.51.100.{rng.randrange(1, 255)}"
    common = {"spec_version": "2.1", "created": moment, "modified": moment}
    return [
        {
            "type": "indicator",
            "id": indicator,
            **common,
            "name": f"Load benchmark: command-and-control address {address}",
            "description": "Benchmark data, not a real report.",
            "indicator_types": ["malicious-activity"],
            "pattern": f"[ipv4-addr:value = '{address}']",
            "pattern_type": "stix",
            "valid_from": moment,
            "object_marking_refs": [TLP_GREEN],
        },
        {
            "type": "malware",
            "id": malware,
            **common,
            "name": rng.choice(MALWARE_FAMILIES),
            "is_family": True,
            "malware_types": ["backdoor"],
            "object_marking_refs": [TLP_GREEN],
        },
        {
            "type": "relationship",
            "id": f"relationship--{uuid.uuid4()}",
            **common,
            "relationship_type": "indicates",
            "source_ref": indicator,
            "target_ref": malware,
            "object_marking_refs": [TLP_GREEN],
        },
    ]


def notification_body(rng: random.Random, point: Sequence[float]) -> dict[str, Any]:
    """A planned activity near the state's border with China; the purpose makes every body
    (and so every signature) unique."""
    start = date.today() + timedelta(days=rng.randint(30, 300))
    return {
        "kind": rng.choice(("exercise", "exercise", "concentration")),
        "start": start.isoformat(),
        "end": (start + timedelta(days=rng.randint(2, 9))).isoformat(),
        "location": {
            "point": [round(point[0] + rng.uniform(-0.05, 0.05), 4), round(point[1], 4)],
            "radius_km": rng.choice((5, 10, 25)),
        },
        "forces": {"personnel": rng.randrange(500, 20_000, 100)},
        "purpose": f"Load benchmark activity {uuid.uuid4().hex[:12]} (not a real activity).",
    }


# --- the load generator (a child process per share of the clients) ---------------------------


@dataclass
class Planned:
    method: str
    path: str
    expect: int
    params: dict[str, Any] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    warmup_requests: int = 0
    warmup_errors: int = 0
    straddling: int = 0
    lags: list[float] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    def error(self, op: str, kind: str, detail: str, in_window: bool) -> None:
        """``kind``: the status answered, an exception's name, or "answer" for a wrong one."""
        if in_window:
            self.errors[op] = self.errors.get(op, 0) + 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        else:
            self.warmup_errors += 1
        if len(self.samples) < 40:
            self.samples.append(
                {"operation": op, "in_window": in_window, "kind": kind, "detail": detail[:400]}
            )


class Client:
    """One user: a persona (account, role, state), a keep-alive connection and its own
    random stream, drawing operations from the mix its role allows."""

    def __init__(self, index: int, persona: dict[str, Any], spec: dict[str, Any], keys: Any):
        self.rng = random.Random(f"{spec['seed']}:{index}")  # noqa: S311 - reproducible mix, not a secret
        self.state: str = persona["state"]
        self.liaison = persona["role"] == "liaison"
        self.token: str = persona["token"]
        self.spec = spec
        self.key = keys.get(self.state) if self.liaison else None
        allowed = [
            (name, weight)
            for name, weight in spec["weights"].items()
            if weight > 0 and (self.liaison or not WRITES[name])
        ]
        self.ops = [name for name, _ in allowed]
        self.weights = [weight for _, weight in allowed]
        self.notifications: list[int] = list(spec["notifications"].get(self.state, []))
        self.last_added: str = spec["poll_from"]
        self.collection = f"/taxii2/node/collections/{spec['collection']}/objects/"
        self.think = spec["think_ms"] / 1000

    def plan(self, op: str, sign: Any) -> Planned:
        rng = self.rng
        taxii = {"Accept": TAXII_MEDIA_TYPE}
        if op == "cbm_inbox":
            return Planned("GET", "/api/v1/cbm/notifications", 200, {"box": "inbox", "limit": 20})
        if op == "cbm_notification":
            if not self.notifications:
                return Planned("GET", "/api/v1/cbm/notifications", 200, {"box": "sent"})
            return Planned(
                "GET", f"/api/v1/cbm/notifications/{rng.choice(self.notifications)}", 200
            )
        if op == "crisis_list":
            return Planned("GET", "/api/v1/crisis/crises", 200)
        if op == "crisis_get":
            return Planned("GET", f"/api/v1/crisis/crises/{self.spec['crisis']}", 200)
        if op == "warning_alerts":
            return Planned("GET", "/api/v1/warning/alerts", 200)
        if op == "node_health":
            return Planned("GET", "/api/v1/health", 200)
        if op == "warning_dashboard":
            return Planned("GET", "/api/v1/warning/dashboard", 200, {"country": self.state})
        if op == "registry_members":
            code = rng.choice(list(self.spec["organisations"]))
            founded = date.fromisoformat(self.spec["organisations"][code])
            on = founded + timedelta(days=rng.randint(0, max(0, (date.today() - founded).days)))
            return Planned(
                "GET", f"/api/v1/registry/organisations/{code}/members", 200, {"on": on.isoformat()}
            )
        if op == "taxii_objects":
            kind = rng.choice(("indicator", "indicator", "malware", "relationship"))
            return Planned(
                "GET", self.collection, 200, {"match[type]": kind, "limit": 50}, None, taxii
            )
        if op == "taxii_poll":
            params = {"added_after": self.last_added, "limit": 100}
            return Planned("GET", self.collection, 200, params, None, taxii)
        if op == "taxii_add":
            envelope = json.dumps({"objects": stix_report(rng)}).encode()
            headers = {**taxii, "Content-Type": TAXII_MEDIA_TYPE}
            return Planned("POST", self.collection, 202, None, envelope, headers)
        json_headers = {"Content-Type": "application/json"}
        if op == "cbm_notify":
            activity = notification_body(rng, self.spec["points"][self.state])
            signed = sign(self.key, "cbm.notification", self.state, activity)
            path = "/api/v1/cbm/notifications"
            return Planned("POST", path, 201, None, json.dumps(signed).encode(), json_headers)
        if op == "crisis_position":
            position = {"position": rng.choice(("in-favour", "in-favour", "against", "abstain"))}
            signed = sign(self.key, "crisis.position", self.state, position)
            path = f"/api/v1/crisis/decisions/{self.spec['decision']}/positions"
            return Planned("POST", path, 200, None, json.dumps(signed).encode(), json_headers)
        raise ValueError(f"unknown operation {op}")

    def check(self, op: str, planned: Planned, response: Any) -> tuple[str, str] | None:
        """What is wrong with the answer (kind, detail), or None; also follows what the
        answer says."""
        if response.status_code != planned.expect:
            return str(response.status_code), response.text[:300]
        if op == "taxii_add":
            status = response.json()
            if status.get("status") != "complete" or status.get("failure_count", 0):
                return "answer", f"TAXII status not complete: {response.text[:300]}"
        elif op == "taxii_poll":
            last = response.headers.get("X-TAXII-Date-Added-Last")
            if last:
                self.last_added = last
        elif op == "cbm_notify":
            self.notifications.append(int(response.json()["id"]))
        return None


async def client_loop(
    client: Client, tally: Tally, sign: Any, start_at: float, window: tuple[float, float]
) -> None:
    opened, closed = window
    async with httpx.AsyncClient(
        base_url=client.spec["base_url"],
        headers={"Authorization": f"Bearer {client.token}"},
        timeout=REQUEST_TIMEOUT,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    ) as http:
        # Clients start spread over the first 0.2 s of the warm-up, not all on one tick.
        await asyncio.sleep(max(0.0, start_at - time.time()) + client.rng.random() * 0.2)
        while time.time() < closed:
            op = client.rng.choices(client.ops, client.weights)[0]
            # Signing and serialising are the client's work: done before the clock starts.
            planned = client.plan(op, sign)
            started = time.time()
            began = time.perf_counter()
            problem: tuple[str, str] | None
            try:
                response = await http.request(
                    planned.method,
                    planned.path,
                    params=planned.params,
                    content=planned.content,
                    headers=planned.headers,
                )
                elapsed = time.perf_counter() - began
                problem = client.check(op, planned, response)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                elapsed = time.perf_counter() - began
                problem = (type(exc).__name__, f"after {elapsed:.1f} s: {exc}")
            in_window = started >= opened and started + elapsed <= closed
            if in_window:
                tally.latencies.setdefault(op, []).append(round(elapsed * 1000, 3))
            elif started >= opened:
                tally.straddling += 1
            else:
                tally.warmup_requests += 1
            if problem is not None:
                tally.error(op, *problem, started >= opened)
            if client.think > 0:
                await asyncio.sleep(client.rng.expovariate(1 / client.think))


async def lag_monitor(tally: Tally, window: tuple[float, float]) -> None:
    """How late the generator's event loop wakes up: a busy generator delays reading answers,
    which would show as server latency."""
    opened, closed = window
    while time.time() < closed:
        began = time.perf_counter()
        await asyncio.sleep(0.05)
        late = (time.perf_counter() - began - 0.05) * 1000
        if time.time() >= opened:
            tally.lags.append(late)


async def drive(spec: dict[str, Any], keys: Any, sign: Any, start_at: float) -> dict[str, Any]:
    opened = start_at + spec["warmup"]
    window = (opened, opened + spec["duration"])
    tally = Tally()
    clients = [
        Client(spec["first_index"] + i, persona, spec, keys)
        for i, persona in enumerate(spec["personas"])
    ]
    usage: dict[str, float] = {}

    async def measure_cpu() -> None:
        for edge, moment in (("start", window[0]), ("end", window[1])):
            await asyncio.sleep(max(0.0, moment - time.time()))
            own = resource.getrusage(resource.RUSAGE_SELF)
            usage[edge] = own.ru_utime + own.ru_stime

    await asyncio.gather(
        measure_cpu(),
        lag_monitor(tally, window),
        *(client_loop(c, tally, sign, start_at, window) for c in clients),
    )
    lags = sorted(tally.lags)
    return {
        "clients": len(clients),
        "latencies_ms": tally.latencies,
        "errors": tally.errors,
        "samples": tally.samples,
        "error_kinds": tally.kinds,
        "warmup_requests": tally.warmup_requests,
        "warmup_errors": tally.warmup_errors,
        "straddling": tally.straddling,
        "cpu_seconds": usage.get("end", 0.0) - usage.get("start", 0.0),
        "loop_lag_ms": {"p99": percentile(lags, 99), "max": lags[-1] if lags else None},
    }


def generator_main() -> int:
    """A child process: reads its spec, says ready, waits for the start time, runs the clients
    and writes what it measured as JSON on stdout."""
    spec = json.loads(sys.stdin.readline())
    from indivisible.auth import signing, submissions

    keys = {state: signing.load_private(pem.encode()) for state, pem in spec["keys"].items()}
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    result = asyncio.run(drive(spec, keys, submissions.sign_body, start_at))
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


# --- the database ----------------------------------------------------------------------------


class Refused(Exception):
    """The database is not the benchmark's own and --reset was not given."""


def prepare_database(url: str, reset: bool) -> str:
    """Create the database empty (dropping the benchmark's own from a previous run); answers
    what was done. Never drops a database the benchmark did not create unless told to."""
    if url.startswith("sqlite"):
        return _prepare_sqlite(url, reset)
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = target.database
    if not name or name in {"postgres", "template0", "template1"}:
        raise Refused(f"refusing to use the database {name!r}: give one of the benchmark's own")
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        done = "created"
        if row is not None:
            if row[0] != MARK and not reset:
                raise Refused(
                    f"the database {name} exists and was not made by this benchmark; "
                    "give --reset to drop it, or another --database-url"
                )
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            done = "dropped and recreated"
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(MARK))
        )
    return done


def _prepare_sqlite(url: str, reset: bool) -> str:
    path = Path(url[len("sqlite:///") :])
    marker = path.with_name(path.name + ".load-benchmark")
    if path.exists():
        if not marker.exists() and not reset:
            raise Refused(
                f"{path} exists and was not made by this benchmark; give --reset to delete it"
            )
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(MARK + "\n")
    return "created"


def shown(url: str) -> str:
    """The URL without its password, for the log and the JSON."""
    if url.startswith("sqlite"):
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def postgres_version(url: str) -> str | None:
    if url.startswith("sqlite"):
        return None
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else None


# --- the node --------------------------------------------------------------------------------


@dataclass
class Node:
    """What setup made that the clients need."""

    personas: list[dict[str, Any]]
    secretariat_token: str
    points: dict[str, list[float]]
    events: int


def node_environment(url: str, workdir: Path) -> dict[str, str]:
    return {
        "INDIVISIBLE_DATABASE_URL": url,
        "INDIVISIBLE_EVENTS_PATH": str(workdir / "events.duckdb"),
        "INDIVISIBLE_NODE_KEY_PATH": str(workdir / "node-key.pem"),
        # A production node: unsigned submissions refused, so every write is really verified.
        "INDIVISIBLE_ALLOW_UNSIGNED_SUBMISSIONS": "false",
        # Every client comes from 127.0.0.1 with no pause between requests, and the clients of
        # a persona share its token: the node's rate limits, set for real users, would refuse
        # most of the load. Set beyond reach, the limiter still runs and costs what it costs.
        "INDIVISIBLE_RATE_LIMIT_PER_TOKEN": "1000000",
        "INDIVISIBLE_RATE_LIMIT_PER_TOKEN_BURST": "1000000",
        "INDIVISIBLE_RATE_LIMIT_PER_ADDRESS": "1000000",
        "INDIVISIBLE_RATE_LIMIT_PER_ADDRESS_BURST": "1000000",
    }


def build_node(url: str, workdir: Path, events: int, log: Any) -> Node:
    """Migrate, load the reference data and the demo's data as `indivisible start` does (with
    `events` synthetic events), then the benchmark's accounts; seal the audit log once."""
    os.environ.update(node_environment(url, workdir))
    from indivisible.config import get_settings

    get_settings.cache_clear()
    from indivisible.audit import ledger
    from indivisible.auth import service as auth_service
    from indivisible.auth.principal import Actor, Role
    from indivisible.auth.schemas import PrincipalCreate, TokenCreate
    from indivisible.cbm.demo import NEAR_CHINA, create_demo_cbm
    from indivisible.cli import node as cli_node
    from indivisible.cli.common import transaction
    from indivisible.registry import loader
    from indivisible.warning import store, synthetic

    started = time.perf_counter()
    cli_node.migrate(url)
    with transaction(url) as session:
        report = loader.load(session, Actor.console("load-benchmark"))
    if report.refused:
        raise RuntimeError(f"reference data refused: {report.refused[:3]}")
    log(f"reference data loaded ({time.perf_counter() - started:.1f} s)")
    with transaction(url) as session:
        demo = cli_node.create_demo_accounts(session)
        cli_node.create_demo_sharing(session)
        create_demo_cbm(session)
    cli_node.create_demo_crisis(url)
    with store.opened(workdir / "events.duckdb") as connection:
        written = synthetic.write(connection, synthetic.plan(events, seed=7), seed=7)
    secretariat = next(token for user, _role, _pw, token in demo if user == "csto-secretariat")
    console_actor = Actor.console("load-benchmark")
    personas = []
    with transaction(url) as session:
        wanted = [(s, Role.liaison) for s in LIAISON_STATES] + [
            (s, Role.analyst) for s in ANALYST_STATES
        ]
        for state, role in wanted:
            username = f"load-{state.lower()}-{role.value}"
            auth_service.create_principal(
                session,
                console_actor,
                PrincipalCreate(
                    username=username,
                    display_name=f"Load benchmark {role.value} ({state})",
                    role=role,
                    state=state,
                ),
            )
            issued = auth_service.issue_token(
                session,
                console_actor,
                TokenCreate(name="load benchmark", expires_in_days=1),
                for_username=username,
            )
            personas.append({"role": role.value, "state": state, "token": issued.secret})
    # Seals what setup recorded (and creates the log's bookmark row) before the workers start,
    # so that the measured windows see only the sealing of what the load itself writes.
    key = ledger.load_or_create_node_key(workdir / "node-key.pem")
    with transaction(url) as session:
        ledger.seal(session, key=key, head_interval=timedelta(0))
    log(
        f"node built: demo data, {written:,} synthetic events ({time.perf_counter() - started:.1f} s)"
    )
    return Node(
        personas=personas,
        secretariat_token=secretariat,
        points={s: list(NEAR_CHINA[s]) for s in LIAISON_STATES},
        events=written,
    )


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[str]
    log_path: Path

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _copy_log(stdout: IO[str], log: IO[str], started: list[int], ready: threading.Event) -> None:
    """Copies uvicorn's output to the log, counting workers whose startup completed, and keeps
    draining it so that a full pipe never stalls the server."""
    for line in stdout:
        log.write(line)
        log.flush()
        if "Application startup complete" in line:
            started[0] += 1
            ready.set()


@contextmanager
def serving(url: str, workdir: Path, workers: int) -> Iterator[Server]:
    """uvicorn with ``workers`` worker processes on a free loopback port, until the block ends.
    Ready when every worker has started and the node answers."""
    for _attempt in range(3):
        port = free_port()
        log_path = workdir / f"uvicorn-{port}.log"
        log = log_path.open("w")
        argv = [
            sys.executable, "-m", "uvicorn", "indivisible.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            argv,
            cwd=workdir,
            env={**os.environ, **node_environment(url, workdir)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        started = [0]
        ready = threading.Event()
        drain = threading.Thread(
            target=_copy_log, args=(process.stdout, log, started, ready), daemon=True
        )
        drain.start()
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        up = False
        while time.monotonic() < deadline and process.poll() is None:
            if started[0] >= workers:
                try:
                    up = httpx.get(f"{base_url}/api/v1/health", timeout=5).status_code == 200
                except httpx.HTTPError:
                    up = False
                if up:
                    break
            time.sleep(0.2)
        if up:
            break
        process.kill()
        process.wait(timeout=10)
        drain.join(timeout=10)
        log.close()
    else:
        raise RuntimeError(f"the node did not start; see {log_path}:\n{log_path.read_text()}")
    try:
        yield Server(base_url, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        drain.join(timeout=10)
        log.close()


# --- provisioning through the API ------------------------------------------------------------


def _expect(response: Any, status: int, what: str) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:500]}")
    return response.json()


def _send(http: Any, method: str, path: str, status: int, what: str, **kwargs: Any) -> Any:
    """A setup request, sent again while the node answers 503: on SQLite a write can meet the
    audit sealer's commit and be refused as busy (the load itself counts that as an error)."""
    for _attempt in range(20):
        response = http.request(method, path, **kwargs)
        if response.status_code != 503:
            break
        time.sleep(0.25)
    return _expect(response, status, what)


def provision(
    base_url: str, node: Node, seed_objects: int, seed_notifications: int, log: Any
) -> dict[str, Any]:
    """What a node in use has, made through the API as its users would: each liaison state's
    signing key, a request for assistance before the CSTO with a decision open on it and each
    state's first position, TAXII objects and signed notifications."""
    from indivisible.auth import signing, submissions

    rng = random.Random(2026)  # noqa: S311 - reproducible data, not a secret
    by_state = {p["state"]: p["token"] for p in node.personas if p["role"] == "liaison"}

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    keys: dict[str, str] = {}
    private: dict[str, Any] = {}
    # A connection per request: the workers share the setup's requests, and so each meets
    # its first notification, position and TAXII post before the measured levels.
    fresh = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base_url, timeout=120, limits=fresh) as http:
        for state, token in by_state.items():
            pem, public = signing.generate()
            key = {"public_key": base64.b64encode(public).decode()}
            _send(
                http,
                "POST",
                "/api/v1/auth/keys",
                201,
                f"registering {state}'s key",
                json=key,
                headers=auth(token),
            )
            keys[state] = pem.decode()
            private[state] = signing.load_private(pem)
        found = _send(
            http,
            "GET",
            "/api/v1/registry/organisations",
            200,
            "organisations",
            headers=auth(by_state["KAZ"]),
        )
        organisations = {
            o["code"]: o["founded"] for o in found if o["code"] in ORGANISATIONS and o["founded"]
        }
        almaty = (
            datetime.now(UTC).astimezone(ZoneInfo("Asia/Almaty")).replace(second=0, microsecond=0)
        )
        request = {
            "organisation": "CSTO",
            "kind": "unrest",
            "summary": "Load benchmark: a request for assistance (not a real request).",
            "agreement": "CST-1992",
            "article": "Article 4",
            "time_zone": "Asia/Almaty",
            "requested_at": almaty.isoformat(),
        }
        signed = submissions.sign_body(private["KAZ"], "crisis.request", "KAZ", request)
        crisis = _send(
            http,
            "POST",
            "/api/v1/crisis/requests",
            201,
            "requesting assistance",
            json=signed,
            headers=auth(by_state["KAZ"]),
        )["id"]
        question = {
            "body": "CSTO-CSC",
            "session_on": almaty.date().isoformat(),
            "question": "Load benchmark: send the collective forces?",
        }
        decision = _send(
            http,
            "POST",
            f"/api/v1/crisis/crises/{crisis}/decisions",
            201,
            "opening a decision",
            json=question,
            headers=auth(node.secretariat_token),
        )["id"]
        # Every state states a first position now: under load each then restates it (an
        # update of its row), which is what a decision open for hours mostly sees.
        for state, token in by_state.items():
            signed = submissions.sign_body(
                private[state], "crisis.position", state, {"position": "in-favour"}
            )
            _send(
                http,
                "POST",
                f"/api/v1/crisis/decisions/{decision}/positions",
                200,
                f"{state}'s first position",
                json=signed,
                headers=auth(token),
            )
        taxii = {"Accept": TAXII_MEDIA_TYPE, "Content-Type": TAXII_MEDIA_TYPE}
        collections = _send(
            http,
            "GET",
            "/taxii2/node/collections/",
            200,
            "TAXII collections",
            headers={**auth(by_state["KAZ"]), **taxii},
        )["collections"]
        collection = next(c["id"] for c in collections if c.get("can_write"))
        poll_from = stix_time(datetime.now(UTC))
        states = list(by_state)
        posted = 0
        while posted < seed_objects:
            objects: list[dict[str, Any]] = []
            while len(objects) < min(300, seed_objects - posted):
                objects.extend(stix_report(rng))
            poster = by_state[states[posted // 300 % len(states)]]
            _send(
                http,
                "POST",
                f"/taxii2/node/collections/{collection}/objects/",
                202,
                "seeding TAXII objects",
                content=json.dumps({"objects": objects}).encode(),
                headers={**auth(poster), **taxii},
            )
            posted += len(objects)
        notifications: dict[str, list[int]] = {s: [] for s in states}
        for state in states:
            for _ in range(seed_notifications):
                body = notification_body(rng, node.points[state])
                signed = submissions.sign_body(private[state], "cbm.notification", state, body)
                filed = _send(
                    http,
                    "POST",
                    "/api/v1/cbm/notifications",
                    201,
                    f"seeding {state}'s notifications",
                    json=signed,
                    headers=auth(by_state[state]),
                )
                notifications[state].append(filed["id"])
    log(
        f"provisioned: keys, crisis {crisis} with decision {decision}, {posted} TAXII objects, "
        f"{seed_notifications * len(states)} notifications"
    )
    return {
        "keys": keys,
        "crisis": crisis,
        "decision": decision,
        "collection": collection,
        "notifications": notifications,
        "organisations": organisations,
        "poll_from": poll_from,
        "points": node.points,
    }


def prime_dashboards(base_url: str, node: Node, workers: int, log: Any) -> dict[str, Any]:
    """The forecast dashboard's first request in a worker trains the backtest models, which the
    worker then keeps: a slow answer means one more worker trained. Requests go one at a time
    (two workers training at once oversubscribe the cores, benchmarks/README.md), each on a
    fresh connection that any worker may accept, until every worker answered slowly once or
    40 answers in a row were fast (the kernel hands connections to the workers unevenly)."""
    token = next(p["token"] for p in node.personas if p["role"] == "analyst")
    started = time.perf_counter()
    times: list[float] = []
    trained = fast_in_a_row = 0
    while trained < workers and fast_in_a_row < 40:
        if time.perf_counter() - started > PRIMING_LIMIT:
            raise RuntimeError(
                f"the forecast dashboard was not trained in every worker after {PRIMING_LIMIT:g} "
                "s; leave it out of the mix (warning_dashboard=0), see benchmarks/README.md"
            )
        began = time.perf_counter()
        with httpx.Client(base_url=base_url, timeout=PRIMING_LIMIT) as http:
            _send(
                http,
                "GET",
                "/api/v1/warning/dashboard",
                200,
                "priming the dashboard",
                params={"country": "KAZ"},
                headers={"Authorization": f"Bearer {token}"},
            )
        times.append(round(time.perf_counter() - began, 3))
        slow = times[-1] >= 3.0
        trained += slow
        fast_in_a_row = 0 if slow else fast_in_a_row + 1
    seconds = time.perf_counter() - started
    log(
        f"forecast dashboard primed: {trained} of {workers} worker(s) trained "
        f"({seconds:.0f} s, {len(times)} requests)"
        + ("" if trained >= workers else "; a cold worker will show in the dashboard's figures")
    )
    return {"seconds": seconds, "workers_trained": trained, "requests_s": times}


# --- the levels ------------------------------------------------------------------------------


def _proc_stat(pid: int | str) -> tuple[str, int, int] | None:
    """(command, parent pid, CPU ticks) of a process, from /proc: its own, and those of its
    children that ended and were waited for (a PostgreSQL backend that served a connection
    closed during the window counts in its postmaster's)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command = text[text.index("(") + 1 : text.rindex(")")]
    rest = text[text.rindex(")") + 2 :].split()
    return command, int(rest[1]), sum(int(rest[i]) for i in (11, 12, 13, 14))


def cpu_snapshot(server_pid: int, generator_pids: Sequence[int]) -> dict[str, Any] | None:
    """CPU ticks used so far by the machine, the server, PostgreSQL and the generators."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)
    groups: dict[str, dict[int, int]] = {"server": {}, "postgres": {}, "generators": {}}
    generators = set(generator_pids)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(entry.name)
        if stat is None:
            continue
        command, parent, used = stat
        pid = int(entry.name)
        if pid == server_pid or parent == server_pid:
            groups["server"][pid] = used
        elif command.startswith("postgres"):
            groups["postgres"][pid] = used
        elif pid in generators:
            groups["generators"][pid] = used
    return {"busy": busy, "groups": groups}


def cpu_used(
    before: dict[str, Any] | None, after: dict[str, Any] | None, seconds: float
) -> dict[str, float] | None:
    """Cores used on average between two snapshots, by group; a process started in between
    counts whole, one that ended in between is lost unless its parent waited for it."""
    if before is None or after is None or seconds <= 0:
        return None
    hertz = os.sysconf("SC_CLK_TCK")
    used = {"machine": (after["busy"] - before["busy"]) / hertz / seconds}
    for group, now in after["groups"].items():
        then = before["groups"][group]
        ticks = sum(t - then.get(pid, 0) for pid, t in now.items())
        used[group] = ticks / hertz / seconds
    used["other"] = used["machine"] - used["server"] - used["postgres"] - used["generators"]
    return {k: round(v, 3) for k, v in used.items()}


def machine_busy(seconds: float) -> float | None:
    """Cores busy on the machine over the next ``seconds``."""
    before = cpu_snapshot(-1, [])
    time.sleep(seconds)
    used = cpu_used(before, cpu_snapshot(-1, []), seconds)
    return None if used is None else used["machine"]


def wait_until_quiet(limit: float, log: Any) -> float | None:
    """Waits, up to ``limit`` seconds, until the machine is quiet (under 0.3 cores busy over
    3 s with the node idle): other work would take the cores the node is measured on.
    Answers the last busy figure, recorded with the level."""
    deadline = time.monotonic() + limit
    busy = machine_busy(3.0)
    while busy is not None and busy >= 0.3 and time.monotonic() < deadline:
        busy = machine_busy(3.0)
    if busy is not None and busy >= 0.3 and limit > 0:
        log(f"the machine is not quiet ({busy:.2f} cores busy before the level): figures suffer")
    return busy


def run_level(
    clients: int,
    processes: int,
    fixture: dict[str, Any],
    node: Node,
    server: Server,
    args: argparse.Namespace,
    weights: dict[str, float],
    log: Any,
) -> dict[str, Any]:
    busy_before = wait_until_quiet(args.quiet_wait, log) if args.quiet_wait > 0 else None
    order = [p for p in node.personas if p["role"] == "liaison"]
    order += [p for p in node.personas if p["role"] == "analyst"]
    # Liaison officers and analysts interleaved: 4 liaisons then 2 analysts, repeated.
    personas = [order[i % len(order)] for i in range(clients)]
    processes = max(1, min(processes, clients))
    shares = [personas[i::processes] for i in range(processes)]
    children: list[subprocess.Popen[str]] = []
    first = 0
    for share in shares:
        spec = {
            **fixture,
            "base_url": server.base_url,
            "personas": share,
            "first_index": first + clients * 1000,
            "weights": weights,
            "warmup": args.warmup,
            "duration": args.duration,
            "seed": args.seed,
            "think_ms": args.think_ms,
        }
        first += len(share)
        child = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            [sys.executable, str(Path(__file__).resolve()), "--generator"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps(spec) + "\n")
        child.stdin.flush()
        children.append(child)
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a load generator did not start")
    start_at = time.time() + 0.5
    for child in children:
        assert child.stdin is not None
        child.stdin.write(f"{start_at}\n")
        child.stdin.flush()
    opened = start_at + args.warmup
    closed = opened + args.duration
    pids = [c.pid for c in children]
    time.sleep(max(0.0, opened - time.time()))
    before = cpu_snapshot(server.process.pid, pids)
    time.sleep(max(0.0, closed - time.time()))
    after = cpu_snapshot(server.process.pid, pids)
    parts: list[dict[str, Any]] = []
    for child in children:
        out, _ = child.communicate(timeout=REQUEST_TIMEOUT + 120)
        if child.returncode != 0:
            raise RuntimeError(f"a load generator failed (exit {child.returncode})")
        parts.append(json.loads(out))
    result = merge(clients, parts, args.duration, cpu_used(before, after, args.duration))
    result["machine_busy_before"] = busy_before
    return result


def merge(
    clients: int, parts: list[dict[str, Any]], seconds: float, cpu: dict[str, float] | None
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for part in parts:
        for op, values in part["latencies_ms"].items():
            latencies.setdefault(op, []).extend(values)
        for op, count in part["errors"].items():
            errors[op] = errors.get(op, 0) + count
    kinds: dict[str, int] = {}
    for part in parts:
        for kind, count in part["error_kinds"].items():
            kinds[kind] = kinds.get(kind, 0) + count
    everything = [v for values in latencies.values() for v in values]
    total = summary(everything, sum(errors.values()), seconds)
    operations = {
        op: summary(latencies.get(op, []), errors.get(op, 0), seconds)
        for op in sorted(set(latencies) | set(errors))
    }
    lags = [p["loop_lag_ms"]["p99"] for p in parts if p["loop_lag_ms"]["p99"] is not None]
    return {
        "clients": clients,
        "generator_processes": len(parts),
        "seconds": seconds,
        **total,
        "target_met": meets_target(total),
        "operations": operations,
        "warmup_requests": sum(p["warmup_requests"] for p in parts),
        "warmup_errors": sum(p["warmup_errors"] for p in parts),
        "unfinished_at_end": sum(p["straddling"] for p in parts),
        "error_kinds": kinds,
        "error_samples": [s for p in parts for s in p["samples"]][:40],
        "generator_loop_lag_p99_ms": max(lags) if lags else None,
        "generator_cpu_seconds": sum(p["cpu_seconds"] for p in parts),
        "cpu_cores": cpu,
        # CPU the node spent per answered request (its workers and PostgreSQL together).
        "node_cpu_ms_per_request": (
            (cpu["server"] + cpu["postgres"]) * seconds * 1000 / total["requests"]
            if cpu and total["requests"]
            else None
        ),
    }


def meets_target(result: dict[str, Any]) -> bool:
    p99 = result["p99_ms"]
    return result["errors"] == 0 and p99 is not None and p99 < TARGET_P99_MS


# --- output ----------------------------------------------------------------------------------


def cpu_cell(cpu: dict[str, float] | None) -> str:
    """Cores used by the server, PostgreSQL, the generators and the rest, as the tables show."""
    if cpu is None:
        return "-"
    return "/".join(f"{cpu[k]:.2f}" for k in ("server", "postgres", "generators", "other"))


def figure(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def verdict(result: dict[str, Any]) -> str:
    if result["target_met"]:
        return "PASS"
    reasons = []
    if result["p99_ms"] is None:
        reasons.append("no answer in time")
    elif result["p99_ms"] >= TARGET_P99_MS:
        reasons.append(f"p99 {figure(result['p99_ms'], 0)} ms")
    if result["errors"]:
        reasons.append(f"{result['errors']} errors")
    return "MISS (" + ", ".join(reasons) + ")"


def tables(results: list[dict[str, Any]], title: str) -> list[Any]:
    from rich.table import Table

    main = Table(
        "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
        "CPU srv/pg/gen/other", "target",
        title=title,
        caption=f"target: p99 < {TARGET_P99_MS:g} ms and no errors at {TARGET_CLIENTS} clients "
        "(judged at every level); CPU in cores used on average",
    )  # fmt: skip
    for r in results:
        main.add_row(
            f"{r['clients']}",
            f"{r['requests']:,}",
            figure(r["throughput"]),
            figure(r["p50_ms"]),
            figure(r["p95_ms"]),
            figure(r["p99_ms"]),
            figure(r["max_ms"]),
            f"{r['errors']}",
            cpu_cell(r["cpu_cores"]),
            verdict(r) + (" *" if r["clients"] == TARGET_CLIENTS else ""),
        )
    per_op = Table("operation", *(f"{r['clients']} clients: n, p50/p99 ms, err" for r in results))
    names = sorted({op for r in results for op in r["operations"]})
    for op in names:
        cells = []
        for r in results:
            o = r["operations"].get(op)
            cells.append(
                "-"
                if o is None
                else f"{o['requests']:,}, {figure(o['p50_ms'])}/{figure(o['p99_ms'])}, {o['errors']}"
            )
        per_op.add_row(op, *cells)
    return [main, per_op]


def control_table(controls: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(
        "operation alone", "clients", "req/s", "p50 ms", "p99 ms", "errors",
        "node CPU ms/request", "CPU srv/pg/gen/other", "target",
        title="Controls: one operation alone, after the levels, on the same node",
        caption="node CPU: the server's workers and PostgreSQL, per answered request",
    )  # fmt: skip
    for c in controls:
        table.add_row(
            c["operation"],
            f"{c['clients']}",
            figure(c["throughput"]),
            figure(c["p50_ms"]),
            figure(c["p99_ms"]),
            f"{c['errors']}",
            figure(c["node_cpu_ms_per_request"], 2),
            cpu_cell(c["cpu_cores"]),
            verdict(c),
        )
    return table


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        # Taken before the run: other work on the machine shows in the figures.
        "load_average": os.getloadavg(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": {
            name: package_version(name)
            for name in (
                "indivisible",
                "fastapi",
                "uvicorn",
                "sqlalchemy",
                "psycopg",
                "httpx",
                "httpx2",
            )
        },
    }


# --- the command -----------------------------------------------------------------------------


def parse_mix(text: str | None) -> dict[str, float]:
    weights = {op.name: op.weight for op in MIX}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        if name.strip() not in weights:
            raise SystemExit(
                f"--mix: unknown operation {name.strip()!r} (known: {', '.join(weights)})"
            )
        weights[name.strip()] = float(value)
    return weights


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="the benchmark's own database (dropped and recreated)",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="drop the database even if the benchmark did not create it",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn worker processes (1 on SQLite)"
    )
    parser.add_argument(
        "--levels", default="10,50,200", help="concurrent clients per level, comma-separated"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per level")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="unmeasured seconds before each level"
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=0,
        help="load-generator processes per level (0: one per 100 clients)",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause of a client between requests (exponential; 0: none, a closed loop)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="seconds to wait at most before each level for other work on the machine to stop",
    )
    parser.add_argument("--mix", help="weights to change, e.g. warning_dashboard=1,taxii_add=20")
    parser.add_argument(
        "--controls",
        default=",".join(CONTROLS),
        help="operations run alone after the levels, at the target's clients (or the largest "
        "level), as controls for the mix; '' for none",
    )
    parser.add_argument(
        "--events",
        type=int,
        default=200_000,
        help="synthetic early-warning events (the demo's number)",
    )
    parser.add_argument(
        "--seed-objects", type=int, default=3000, help="TAXII objects posted before the load"
    )
    parser.add_argument(
        "--seed-notifications",
        type=int,
        default=10,
        help="notifications per liaison state before the load",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the clients' random choices")
    parser.add_argument(
        "--quick", action="store_true", help="CI smoke run: levels 2,4, 3 s each, a small node"
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help="where to write the results"
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the event store, node key and uvicorn log"
    )
    parser.add_argument("--generator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        quick = {
            "--levels": ("levels", "2,4"),
            "--duration": ("duration", 3.0),
            "--warmup": ("warmup", 1.0),
            "--events": ("events", 2000),
            "--seed-objects": ("seed_objects", 150),
            "--seed-notifications": ("seed_notifications", 2),
            "--quiet-wait": ("quiet_wait", 0.0),
            # A smoke run keeps the full run's results.
            "--json": ("json", DEFAULT_JSON.with_name("load-quick.json")),
        }
        for flag, (name, value) in quick.items():
            if not any(g == flag or g.startswith(flag + "=") for g in given):
                setattr(args, name, value)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    if args.generator:
        return generator_main()
    from rich.console import Console

    # Wide enough for both tables when the output is a pipe or a file (Rich assumes 80).
    console = Console(width=None if sys.stdout.isatty() else 160)

    def log(message: str) -> None:
        console.print(f"[dim]{message}[/dim]", highlight=False)

    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    weights = parse_mix(args.mix)
    control_names = [name.strip() for name in args.controls.split(",") if name.strip()]
    unknown = [name for name in control_names if name not in weights]
    if unknown:
        raise SystemExit(f"--controls: unknown operation(s) {', '.join(unknown)}")
    url = args.database_url
    sqlite = url.startswith("sqlite")
    workers = 1 if sqlite else max(1, args.workers)
    if sqlite and args.workers > 1:
        log("SQLite: one worker (several processes need PostgreSQL)")
    try:
        done = prepare_database(url, args.reset)
    except Refused as exc:
        console.print(f"[red]error[/red]: {exc}", highlight=False)
        return 2
    log(f"database {done}: {shown(url)}")
    workdir = Path(tempfile.mkdtemp(prefix="indivisible-load-"))
    before = machine()
    started = time.perf_counter()
    try:
        node = build_node(url, workdir, args.events, log)
        with serving(url, workdir, workers) as server:
            log(f"serving {server.base_url} with {workers} worker(s)")
            fixture = provision(
                server.base_url, node, args.seed_objects, args.seed_notifications, log
            )
            primed = (
                prime_dashboards(server.base_url, node, workers, log)
                if weights.get("warning_dashboard", 0) > 0
                else None
            )
            results = []
            for clients in levels:
                processes = args.client_processes or math.ceil(clients / 100)
                log(f"{clients} clients ({processes} generator process(es))…")
                results.append(
                    run_level(clients, processes, fixture, node, server, args, weights, log)
                )
            controls = []
            alone_at = TARGET_CLIENTS if TARGET_CLIENTS in levels else max(levels)
            for name in control_names:
                log(f"control: {name} alone, {alone_at} clients…")
                only = {op.name: (1.0 if op.name == name else 0.0) for op in MIX}
                processes = args.client_processes or math.ceil(alone_at / 100)
                controls.append(
                    {
                        "operation": name,
                        **run_level(alone_at, processes, fixture, node, server, args, only, log),
                    }
                )
            server_log_errors = server.log_path.read_text(errors="replace").count("Traceback")
    except Exception:
        console.print(f"[red]failed[/red]; work directory kept: {workdir}")
        raise
    total_seconds = time.perf_counter() - started
    backend = "SQLite" if sqlite else f"PostgreSQL {postgres_version(url)}"
    title = (
        f"Load: {workers} uvicorn worker(s) on {backend}, {args.duration:g} s per level "
        f"after {args.warmup:g} s warm-up"
    )
    for table in tables(results, title):
        console.print(table)
    for r in results:
        if r["errors"] or r["warmup_errors"]:
            kinds = ", ".join(f"{n} x {kind}" for kind, n in sorted(r["error_kinds"].items()))
            console.print(
                f"[red]errors[/red] at {r['clients']} clients: {kinds or 'none measured'}"
                f" (and {r['warmup_errors']} in the warm-up); for example:",
                highlight=False,
            )
            seen: set[tuple[str, str]] = set()
            for sample in r["error_samples"]:
                key = (sample["kind"], sample["detail"][:60])
                if key not in seen and len(seen) < 3:
                    seen.add(key)
                    console.print(
                        f"  {sample['operation']}: {sample['kind']} {sample['detail']}",
                        highlight=False,
                        soft_wrap=True,
                    )
    if controls:
        console.print(control_table(controls))
    at_target = next((r for r in results if r["clients"] == TARGET_CLIENTS), None)
    if at_target is None:
        console.print(f"Target: {TARGET_CLIENTS} clients not measured in this run.")
    else:
        console.print(
            f"Target at {TARGET_CLIENTS} clients: {verdict(at_target)}; p99 "
            f"{figure(at_target['p99_ms'])} ms (target < {TARGET_P99_MS:g} ms), "
            f"{at_target['errors']} errors.",
            highlight=False,
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    if server_log_errors:
        kept = args.json.with_suffix(".uvicorn.log")
        shutil.copyfile(server.log_path, kept)
        console.print(
            f"[yellow]the server logged {server_log_errors} traceback(s)[/yellow]: {kept}"
        )
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "load",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": " ".join(
                    [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]
                ),
                "machine": before,
                "database": {"backend": backend, "url": shown(url)},
                "config": {
                    "workers": workers,
                    "levels": levels,
                    "duration": args.duration,
                    "warmup": args.warmup,
                    "quick": args.quick,
                    "seed": args.seed,
                    "think_ms": args.think_ms,
                    "mix": [
                        {
                            "operation": op.name,
                            "weight": weights[op.name],
                            "writes": op.writes,
                            "what": op.what,
                        }
                        for op in MIX
                    ],
                    "personas": [{"role": p["role"], "state": p["state"]} for p in node.personas],
                    "events": node.events,
                    "seed_objects": args.seed_objects,
                    "seed_notifications": args.seed_notifications,
                },
                "target": {"clients": TARGET_CLIENTS, "p99_ms": TARGET_P99_MS, "errors": 0},
                "dashboard_priming": primed,
                "server_log_tracebacks": server_log_errors,
                "seconds": total_seconds,
                "results": results,
                "controls": controls,
            },
            indent=1,
        )
    )
    console.print(f"JSON: {args.json}")
    if args.keep_workdir:
        console.print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
