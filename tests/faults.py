"""Helpers of the fault tests (tests/test_faults.py): a node's database prepared for them,
writers that keep a journal of what the node acknowledged, a private PostgreSQL cluster to
stop and start, and the checks of what the database holds afterwards.

A write's outcome, as its writer saw it:

- acked: a 2xx answer. It must be stored, whole, with the content sent.
- refused: the connection was refused, so the node never read it. It must be absent.
- unknown: sent, but the answer was lost (the node was killed, the body cut off) or it was a
  503 (a commit cut off by a lost connection may have gone through). Present or absent, never
  half there.
- failed: any other answer: a 500, or a 4xx the writers never provoke. A bug.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import pwd
import random
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from indivisible.audit import ledger
from indivisible.audit.models import ChangeRecord
from indivisible.auth import signing
from indivisible.auth.models import SubmissionSignature
from indivisible.auth.principal import Actor, Role
from indivisible.auth.submissions import sign_body
from indivisible.cbm.models import (
    CbmEvent,
    Notification,
    NotificationFinding,
    NotificationRecipient,
)
from indivisible.crisis.models import Decision, DecisionPosition
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.registry import loader
from indivisible.sharing import service as sharing_service
from indivisible.sharing.models import (
    StixObject,
    StixObjectRecipient,
    StixObservable,
    TaxiiStatus,
)
from indivisible.sharing.schemas import CollectionCreate, Distribution, Grant, Grantee, Release
from tests.conftest import bearer_tokens
from tests.sharing.stixdata import TLP_GREEN, indicator

TAXII = "application/taxii+json;version=2.1"
ACKED, REFUSED, UNKNOWN, FAILED = "acked", "refused", "unknown", "failed"
KINDS = ("notification", "envelope", "decision", "position", "close")

# Who writes: (role, state, body). Positions are taken by the CSTO members among VOTERS.
USERS: dict[str, tuple[Role, str | None, str | None]] = {
    "kaz": (Role.liaison, "KAZ", None),
    "tjk": (Role.liaison, "TJK", None),
    "kaz-stix": (Role.liaison, "KAZ", None),
    "kgz-stix": (Role.liaison, "KGZ", None),
    "csto": (Role.secretariat, None, "CSTO-SECRETARIAT"),
    "vote-arm": (Role.liaison, "ARM", None),
    "vote-blr": (Role.liaison, "BLR", None),
    "vote-kgz": (Role.liaison, "KGZ", None),
    "vote-rus": (Role.liaison, "RUS", None),
    "vote-tjk": (Role.liaison, "TJK", None),
}
VOTERS = {
    "ARM": "vote-arm",
    "BLR": "vote-blr",
    "KGZ": "vote-kgz",
    "RUS": "vote-rus",
    "TJK": "vote-tjk",
}
# The states an envelope's objects are released to: each stored object has these recipients.
RELEASED_TO = ["KAZ", "KGZ", "RUS", "TJK"]
# Where each state's notifications take place (lon, lat): Almaty region, near Dushanbe.
PLACES = {"KAZ": [77.0, 43.3], "TJK": [68.8, 38.6]}
POSITIONS = ["in-favour", "against", "abstain"]
# The crisis the decisions are about: Kazakhstan asks the CSTO (as in tests/crisis).
REQUEST = {
    "organisation": "CSTO",
    "kind": "unrest",
    "summary": "Fault test crisis (fictional).",
    "agreement": "CST-1992",
    "article": "Article 4",
    "time_zone": "Asia/Almaty",
    "requested_at": "2022-01-05T23:00:00+06:00",
}
DECIDED = {"time_zone": "Asia/Yerevan", "decided_at": "2022-01-06T01:30:00+04:00"}
# A request may take long while the node is busy; it may not take forever.
CLIENT_TIMEOUT = (5.0, 30.0)


@dataclass
class World:
    """What the writers need: the node's address, tokens, the states' private keys, the
    collection they post to and the crisis they vote on."""

    base: str
    headers: dict[str, dict[str, str]]
    collection: str
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    crisis: int = 0
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])


def prepare(url: str) -> World:
    """Migrates the database, loads the reference data, creates the writers' accounts and the
    collection; the node is not running yet."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        console = Actor.console("fault-test")
        with unit_of_work(make_session_factory(engine)) as session:
            loader.load(session, console)
            headers = bearer_tokens(session, "fault", USERS)
            collection = sharing_service.create_collection(
                session,
                console,
                CollectionCreate(
                    title="Fault test",
                    release=Release(distribution=Distribution.states, states=RELEASED_TO),
                    grants=[Grant(grantee=Grantee.everyone, can_read=True, can_write=True)],
                ),
            )
            collection_id = collection.id
    finally:
        engine.dispose()
    return World(base="", headers=headers, collection=collection_id)


def must(base: str, method: str, path: str, headers: dict[str, str], body: Any, expect: int) -> Any:
    """A setup request, sent again while the node answers 503 (busy): the test's own steps,
    not what it checks."""
    for _attempt in range(200):
        answer = requests.request(
            method, base + path, json=body, headers=headers, timeout=CLIENT_TIMEOUT
        )
        if answer.status_code != 503:
            assert answer.status_code == expect, f"{method} {path}: {answer.text}"
            return answer.json()
        time.sleep(0.1)
    raise AssertionError(f"{method} {path}: 503 two hundred times")


def setup_over_http(world: World, base: str) -> None:
    """Registers a signing key for every writing state and opens the crisis, through the
    API of the running node (before any fault)."""
    world.base = base
    states = {"KAZ", "TJK", *VOTERS}
    owner = {state: name for name, (_r, state, _b) in USERS.items() if state is not None}
    for state in sorted(states):
        pem, public = signing.generate()
        must(
            base,
            "POST",
            "/api/v1/auth/keys",
            world.headers[owner[state]],
            {"public_key": base64.b64encode(public).decode()},
            201,
        )
        world.keys[state] = signing.load_private(pem)
    signed = sign_body(world.keys["KAZ"], "crisis.request", "KAZ", REQUEST)
    world.crisis = int(
        must(base, "POST", "/api/v1/crisis/requests", world.headers["kaz"], signed, 201)["id"]
    )


# --- the journal ------------------------------------------------------------------------------


@dataclass
class Write:
    kind: str
    key: str  # what finds it in the database
    body: Any
    outcome: str
    status: int | None
    answer: Any
    sent: float
    answered: float
    retry_after: str | None = None
    detail: str = ""


@dataclass
class Probe:
    """A read sent to watch the node: when, and what came back."""

    path: str
    sent: float
    answered: float
    status: int | None
    retry_after: str | None
    media: str
    code: str | None
    detail: str = ""


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.writes: list[Write] = []
        self.probes: list[Probe] = []
        self.heads: list[dict[str, Any]] = []

    def add(self, write: Write) -> None:
        with self._lock:
            self.writes.append(write)

    def probe(self, probe: Probe) -> None:
        with self._lock:
            self.probes.append(probe)

    def keep_head(self, head: dict[str, Any]) -> None:
        with self._lock:
            if not self.heads or self.heads[-1] != head:
                self.heads.append(head)

    def of(self, kind: str) -> list[Write]:
        with self._lock:
            return [w for w in self.writes if w.kind == kind]

    def acked_since(self, kind: str, moment: float) -> int:
        return sum(1 for w in self.of(kind) if w.outcome == ACKED and w.sent >= moment)

    def counts(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {}
        for kind in KINDS:
            writes = self.of(kind)
            counter: Counter[str] = Counter(w.outcome for w in writes)
            counter["sent"] = len(writes)
            counter["503"] = sum(1 for w in writes if w.status == 503)
            took = sorted(w.answered - w.sent for w in writes if w.outcome == ACKED)
            counter["median ms"] = round(1000 * took[len(took) // 2]) if took else 0
            table[kind] = counter
        return table


def _never_connected(exc: requests.ConnectionError) -> bool:
    # requests wraps urllib3's failure to connect (refused, or no answer to the SYN) in
    # MaxRetryError: then not a byte of the request left this process.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


class Client:
    """One writer's HTTP client: keeps the connection alive as real clients do, records every
    write in the journal, and waits (briefly) as a 503's Retry-After asks."""

    def __init__(
        self, base: str, headers: dict[str, str], journal: Journal, stop: threading.Event
    ) -> None:
        self.base = base
        self.headers = headers
        self.journal = journal
        self.stop = stop
        self.http = requests.Session()
        # Waits are capped so that the test stays short; a real client would wait longer.
        self.longest_wait = 0.25

    def send(
        self, kind: str, key: str, method: str, path: str, body: Any, *, taxii: bool = False
    ) -> Write:
        headers = dict(self.headers)
        if taxii:
            headers.update({"Accept": TAXII, "Content-Type": TAXII})
        sent = time.monotonic()
        try:
            if taxii:
                answer = self.http.request(
                    method,
                    self.base + path,
                    data=json.dumps(body),
                    headers=headers,
                    timeout=CLIENT_TIMEOUT,
                )
            else:
                answer = self.http.request(
                    method, self.base + path, json=body, headers=headers, timeout=CLIENT_TIMEOUT
                )
        except requests.ConnectionError as exc:
            outcome = REFUSED if _never_connected(exc) else UNKNOWN
            write = Write(
                kind, key, body, outcome, None, None, sent, time.monotonic(), None, repr(exc)[:300]
            )
        except requests.RequestException as exc:  # a timeout, a body cut off
            write = Write(
                kind, key, body, UNKNOWN, None, None, sent, time.monotonic(), None, repr(exc)[:300]
            )
        else:
            status = answer.status_code
            outcome = ACKED if 200 <= status < 300 else UNKNOWN if status == 503 else FAILED
            try:
                payload = answer.json()
            except ValueError:
                payload = answer.text[:500]
            write = Write(
                kind,
                key,
                body,
                outcome,
                status,
                payload,
                sent,
                time.monotonic(),
                answer.headers.get("retry-after"),
                "" if outcome == ACKED else answer.text[:500],
            )
        self.journal.add(write)
        self._pause(write)
        return write

    def _pause(self, write: Write) -> None:
        if write.outcome == REFUSED:
            self.wait_reachable()
        elif write.status == 503:
            self.stop.wait(min(float(write.retry_after or 1), self.longest_wait))
        elif write.outcome in (UNKNOWN, FAILED):
            self.stop.wait(0.1)

    def wait_reachable(self) -> None:
        """While the node is down (killed, restarting), look every tenth of a second."""
        while not self.stop.is_set():
            try:
                if requests.get(self.base + "/api/v1/health", timeout=CLIENT_TIMEOUT).ok:
                    return
            except requests.RequestException:
                pass
            self.stop.wait(0.1)


# --- the writers ------------------------------------------------------------------------------


class Worker(threading.Thread):
    """Runs ``step`` until told to stop; an exception in the test's own code is kept, to
    fail the test with, rather than lost in the thread."""

    def __init__(self, name: str, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.stop = stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.step()
        except BaseException as exc:  # kept for the test to fail with
            self.error = exc

    def step(self) -> None:
        raise NotImplementedError


class NotificationWriter(Worker):
    """Files signed notifications, each with a purpose of its own that finds it."""

    def __init__(
        self, world: World, journal: Journal, stop: threading.Event, user: str, seed: int
    ) -> None:
        super().__init__(f"notifications-{user}", stop)
        self.world = world
        self.state = str(USERS[user][1])
        self.client = Client(world.base, world.headers[user], journal, stop)
        self.rng = random.Random(seed)
        self.numbers = itertools.count()

    def step(self) -> None:
        n = next(self.numbers)
        start = date.today() + timedelta(days=40 + n % 300)
        purpose = f"fault-{self.world.tag}-{self.name}-{n}"
        body: dict[str, Any] = {
            "kind": "exercise",
            "start": start.isoformat(),
            "end": (start + timedelta(days=3)).isoformat(),
            "location": {"point": PLACES[self.state], "radius_km": 5},
            "forces": {"personnel": self.rng.randrange(100, 20_000)},
            "purpose": purpose,
        }
        signed = sign_body(self.world.keys[self.state], "cbm.notification", self.state, body)
        self.client.send("notification", purpose, "POST", "/api/v1/cbm/notifications", signed)


class EnvelopeWriter(Worker):
    """Posts TAXII envelopes of two to six indicators, each object new."""

    def __init__(
        self,
        world: World,
        journal: Journal,
        stop: threading.Event,
        user: str,
        index: int,
        seed: int,
    ) -> None:
        super().__init__(f"envelopes-{user}", stop)
        self.world = world
        self.index = index
        self.client = Client(world.base, world.headers[user], journal, stop)
        self.rng = random.Random(seed)
        self.numbers = itertools.count()
        self.path = f"/taxii2/node/collections/{world.collection}/objects/"

    def step(self) -> None:
        n = next(self.numbers)
        objects: list[dict[str, Any]] = []
        for _ in range(self.rng.randint(2, 6)):
            k = self.index * 10_000_000 + len(objects) * 1_000_000 + n
            value = f"10.{self.index}.{(k // 250) % 250}.{k % 250 + 1}"
            objects.append(indicator(k, value=value, markings=[TLP_GREEN]))
        key = f"{self.name}-{n}"
        self.client.send("envelope", key, "POST", self.path, {"objects": objects}, taxii=True)


class VoteWriter(Worker):
    """The CSTO secretariat opens a decision on the crisis, members state their positions
    (signed), some change them, and the secretariat closes it; again and again."""

    def __init__(
        self,
        world: World,
        journal: Journal,
        stop: threading.Event,
        voters: Sequence[str],
        seed: int,
    ) -> None:
        super().__init__("votes", stop)
        self.world = world
        self.journal = journal
        self.voters = list(voters)
        self.secretariat = Client(world.base, world.headers["csto"], journal, stop)
        self.members = {
            state: Client(world.base, world.headers[VOTERS[state]], journal, stop)
            for state in self.voters
        }
        self.rng = random.Random(seed)
        self.numbers = itertools.count()

    def step(self) -> None:
        n = next(self.numbers)
        question = f"fault-{self.world.tag}-{n}: send the collective forces?"
        opened = self.secretariat.send(
            "decision",
            question,
            "POST",
            f"/api/v1/crisis/crises/{self.world.crisis}/decisions",
            {"body": "CSTO-CSC", "session_on": "2022-01-06", "question": question},
        )
        if opened.outcome != ACKED:
            return
        decision = int(opened.answer["id"])
        # Every member states a position, then some change theirs: a restatement replaces it.
        for round_ in (self.voters, self.rng.sample(self.voters, k=2)):
            for state in round_:
                if self.stop.is_set():
                    return
                body = sign_body(
                    self.world.keys[state],
                    "crisis.position",
                    state,
                    {"position": self.rng.choice(POSITIONS)},
                )
                self.members[state].send(
                    "position",
                    f"{decision}/{state}",
                    "POST",
                    f"/api/v1/crisis/decisions/{decision}/positions",
                    body,
                )
        # Closed once: a second try after a lost answer would meet 409 if the first committed.
        self.secretariat.send(
            "close", str(decision), "POST", f"/api/v1/crisis/decisions/{decision}/close", DECIDED
        )


class HeadKeeper(Worker):
    """Keeps every signed tree head the node serves, as a member would: the log must match
    each of them at the end, whatever the kills did to the sealer."""

    def __init__(self, world: World, journal: Journal, stop: threading.Event) -> None:
        super().__init__("tree-heads", stop)
        self.journal = journal
        self.url = world.base + "/api/v1/audit/tree-head"
        self.headers = world.headers["csto"]

    def step(self) -> None:
        try:
            answer = requests.get(self.url, headers=self.headers, timeout=CLIENT_TIMEOUT)
        except requests.RequestException:
            self.stop.wait(0.1)
            return
        if answer.status_code == 200:
            self.journal.keep_head(answer.json())
        self.stop.wait(0.2)


class Prober(Worker):
    """Reads through the REST API and TAXII in turn, recording when each was sent and what
    came back: the record of what clients saw while the database was down."""

    def __init__(self, world: World, journal: Journal, stop: threading.Event) -> None:
        super().__init__("prober", stop)
        self.world = world
        self.journal = journal
        self.paths = itertools.cycle(
            [
                ("/api/v1/cbm/notifications?limit=1", {}),
                (
                    f"/taxii2/node/collections/{world.collection}/objects/?limit=1",
                    {"Accept": TAXII},
                ),
            ]
        )

    def step(self) -> None:
        path, extra = next(self.paths)
        sent = time.monotonic()
        try:
            answer = requests.get(
                self.world.base + path,
                headers={**self.world.headers["kaz"], **extra},
                timeout=CLIENT_TIMEOUT,
            )
        except requests.RequestException as exc:
            self.journal.probe(Probe(path, sent, time.monotonic(), None, None, "", None, repr(exc)))
        else:
            try:
                body = answer.json()
            except ValueError:
                body = {}
            code = body.get("code") or body.get("error_code") if isinstance(body, dict) else None
            self.journal.probe(
                Probe(
                    path,
                    sent,
                    time.monotonic(),
                    answer.status_code,
                    answer.headers.get("retry-after"),
                    answer.headers.get("content-type", ""),
                    code,
                    "" if answer.ok else answer.text[:300],
                )
            )
        self.stop.wait(0.05)


def voters_of(world: World) -> list[str]:
    """The writing states that may take a position on a decision of the crisis: the CSTO's
    members on the day, as the node counts them."""
    decision = must(
        world.base,
        "POST",
        f"/api/v1/crisis/crises/{world.crisis}/decisions",
        world.headers["csto"],
        {"body": "CSTO-CSC", "session_on": "2022-01-06", "question": "setup: who votes?"},
        201,
    )
    voters = sorted(set(VOTERS) & set(decision["eligible"]))
    assert len(voters) >= 2, decision["eligible"]
    return voters


def writers(world: World, journal: Journal, stop: threading.Event, seed: int) -> list[Worker]:
    voters = voters_of(world)
    return [
        NotificationWriter(world, journal, stop, "kaz", seed + 1),
        NotificationWriter(world, journal, stop, "tjk", seed + 2),
        EnvelopeWriter(world, journal, stop, "kaz-stix", 1, seed + 3),
        EnvelopeWriter(world, journal, stop, "kgz-stix", 2, seed + 4),
        VoteWriter(world, journal, stop, voters, seed + 5),
    ]


def wait_for(condition: Callable[[], bool], limit: float, what: str) -> float:
    """Waits until ``condition`` holds; answers how long it took. A readiness wait: the limit
    only ends a hung test, it is no claim about speed."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > limit:
            raise AssertionError(f"not within {limit:.0f} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def stop_all(workers: Iterable[Worker], stop: threading.Event) -> None:
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    for worker in workers:
        assert not worker.is_alive(), f"{worker.name} did not stop"
        if worker.error is not None:
            raise AssertionError(f"{worker.name} failed") from worker.error


# --- the sealer -------------------------------------------------------------------------------


def seal(url: str, key_file: Path) -> dict[str, Any]:
    """Seals what is unsealed and signs a tree head with the node's key, as `indivisible
    audit seal` does; answers the head, which a member would keep."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            result = ledger.seal(
                session, key=ledger.load_or_create_node_key(key_file), head_interval=None
            )
            assert result.head is not None
            return ledger.head_json(result.head)
    finally:
        engine.dispose()


def backlog(url: str, count: int) -> None:
    """Change records not sealed yet, enough to keep the node's sealer busy for seconds in
    one transaction: what a kill in the middle of sealing needs."""
    moment = datetime.now(UTC)
    tag = uuid.uuid4().hex[:8]
    rows = [
        {
            "at": moment,
            "principal_id": None,
            "actor": "console:fault-test",
            "action": "update",
            "subject_type": "fault_backlog",
            "subject_key": f"{tag}-{i}",
            "before": None,
            "after": {"i": i},
        }
        for i in range(count)
    ]
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            session.execute(insert(ChangeRecord), rows)
    finally:
        engine.dispose()


def log_state(url: str) -> tuple[int, int]:
    """(sealed entries, unsealed change records)."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            sealed = ledger.sealed_size(session)
            unsealed = session.scalar(
                select(func.count()).select_from(ChangeRecord).where(ChangeRecord.seq.is_(None))
            )
            return sealed, int(unsealed or 0)
    finally:
        engine.dispose()


class SealWatch:
    """Whether the node's sealer is inside its transaction now: it alone writes while no
    client does, and it begins by updating audit_log_state. On SQLite the write lock is then
    taken; on PostgreSQL a backend holds a row lock on that table."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sqlite = url.startswith("sqlite")

    def busy(self) -> bool:
        if self.sqlite:
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA busy_timeout=0")
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                except Exception as exc:  # sqlite3.OperationalError: database is locked
                    if "locked" in str(exc):
                        return True
                    raise
                cursor.execute("ROLLBACK")
                return False
            finally:
                raw.close()
        with self.engine.connect() as conn:
            held = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'audit_log_state' AND l.mode = 'RowExclusiveLock' "
                    "AND l.pid <> pg_backend_pid()"
                )
            )
            return bool(held)

    def close(self) -> None:
        self.engine.dispose()


# --- what the database holds ------------------------------------------------------------------


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    found: Counter[str] = field(default_factory=Counter)  # acknowledged writes found, by kind
    stored: Counter[str] = field(default_factory=Counter)  # rows of each kind in the database

    def problem(self, message: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(message)


def _content(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "signature"}


def _subsequence(part: Sequence[str], whole: Sequence[str]) -> bool:
    rest = iter(whole)
    return all(item in rest for item in part)


def check_database(session: Session, journal: Journal) -> Findings:
    """Every acknowledged write is there with its content, nothing refused is, and nothing is
    there in part; the node is stopped."""
    findings = Findings()
    _check_notifications(session, journal, findings)
    _check_envelopes(session, journal, findings)
    _check_votes(session, journal, findings)
    return findings


def _records(session: Session, subject_type: str, action: str) -> dict[str, list[ChangeRecord]]:
    found: dict[str, list[ChangeRecord]] = defaultdict(list)
    for row in session.scalars(
        select(ChangeRecord)
        .where(ChangeRecord.subject_type == subject_type, ChangeRecord.action == action)
        .order_by(ChangeRecord.id)
    ):
        found[row.subject_key].append(row)
    return found


def _signatures(session: Session, kind: str) -> dict[str, list[SubmissionSignature]]:
    found: dict[str, list[SubmissionSignature]] = defaultdict(list)
    for row in session.scalars(
        select(SubmissionSignature)
        .where(SubmissionSignature.kind == kind)
        .order_by(SubmissionSignature.id)
    ):
        found[row.subject_key].append(row)
    return found


def _check_notifications(session: Session, journal: Journal, findings: Findings) -> None:
    sent = {w.key: w for w in journal.of("notification")}
    rows = list(session.scalars(select(Notification)))
    findings.stored["notification"] = len(rows)
    by_purpose: dict[str | None, list[Notification]] = defaultdict(list)
    for row in rows:
        by_purpose[row.purpose].append(row)
    records = _records(session, "cbm_notification", "create")
    signatures = _signatures(session, "cbm.notification")
    told: dict[int, set[str]] = defaultdict(set)
    for notification_id, state in session.execute(
        select(NotificationRecipient.notification_id, NotificationRecipient.state_code)
    ):
        told[notification_id].add(state)
    events: dict[int, list[str]] = defaultdict(list)
    for subject, state in session.execute(
        select(CbmEvent.subject_id, CbmEvent.state_code).where(CbmEvent.kind == "notification")
    ):
        events[subject].append(state)
    findings_of: Counter[int] = Counter(
        session.scalars(select(NotificationFinding.notification_id))
    )
    ids = {str(row.id) for row in rows}
    for key in set(records) - ids:
        findings.problem(f"PARTIAL: a change record for notification {key}, which is not there")
    for key in set(signatures) - ids:
        findings.problem(f"PARTIAL: a signature for notification {key}, which is not there")
    for subject in set(events) - {row.id for row in rows}:
        findings.problem(f"PARTIAL: events announce notification {subject}, which is not there")
    for purpose, found in by_purpose.items():
        if purpose not in sent:
            findings.problem(f"notification {found[0].id} ({purpose!r}) was never sent")
        if len(found) > 1:
            findings.problem(f"notification {purpose!r} is stored {len(found)} times")
    for row in rows:
        key = str(row.id)
        recs, sigs = records.get(key, []), signatures.get(key, [])
        if len(recs) != 1 or len(sigs) != 1:
            findings.problem(
                f"PARTIAL: notification {row.id} has {len(recs)} change records and "
                f"{len(sigs)} signatures (one of each expected)"
            )
            continue
        if recs[0].after is None or recs[0].after.get("recipients") != sorted(told[row.id]):
            findings.problem(f"PARTIAL: notification {row.id}: recipients differ from its record")
        if sorted(events[row.id]) != sorted(told[row.id]):
            findings.problem(
                f"PARTIAL: notification {row.id}: events {events[row.id]} for {told[row.id]}"
            )
        write = sent.get(row.purpose or "")
        if write is not None:
            signature = sigs[0]
            if (
                not signature.signed
                or signature.signature != write.body["signature"]["signature"]
                or (signature.document or {}).get("content") != _content(write.body)
            ):
                findings.problem(f"notification {row.id}: the signature kept is not the one sent")
    for write in sent.values():
        found = by_purpose.get(write.key, [])
        if write.outcome == REFUSED and found:
            findings.problem(f"notification {write.key!r} is there, but the node never read it")
        if write.outcome != ACKED:
            continue
        if not found:
            findings.problem(
                f"LOST: acknowledged notification {write.answer['id']} ({write.key!r})"
            )
            continue
        row, answer, body = found[0], write.answer, write.body
        stored = {
            "id": row.id,
            "state": row.state_code,
            "kind": row.kind,
            "start": row.start.isoformat(),
            "end": row.end.isoformat(),
            "location": row.location,
            "forces": row.forces,
            "findings": findings_of[row.id],
            "recipients": sorted(told[row.id]),
        }
        expected = {
            "id": answer["id"],
            "state": answer["state"],
            "kind": body["kind"],
            "start": body["start"],
            "end": body["end"],
            "location": body["location"],
            "forces": body["forces"],
            "findings": len(answer["findings"]),
            "recipients": sorted(r["state"] for r in answer["recipients"]),
        }
        if stored != expected:
            findings.problem(
                f"notification {row.id} differs from what was acknowledged: {stored} != {expected}"
            )
        else:
            findings.found["notification"] += 1


def _check_envelopes(session: Session, journal: Journal, findings: Findings) -> None:
    rows: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row_id, stix_id, body in session.execute(
        select(StixObject.id, StixObject.stix_id, StixObject.body)
    ):
        rows[stix_id].append((row_id, body))
    findings.stored["envelope objects"] = sum(len(v) for v in rows.values())
    recipients: dict[int, set[str]] = defaultdict(set)
    for object_id, state in session.execute(
        select(StixObjectRecipient.object_id, StixObjectRecipient.state_code)
    ):
        recipients[object_id].add(state)
    observed: dict[int, set[str]] = defaultdict(set)
    for object_id, value in session.execute(
        select(StixObservable.object_id, StixObservable.value).where(StixObservable.kind == "ipv4")
    ):
        observed[object_id].add(value)
    listed: dict[str, set[str]] = defaultdict(set)  # object id -> statuses that list it
    statuses = {s.id: s for s in session.scalars(select(TaxiiStatus))}
    for status in statuses.values():
        for outcome in json.loads(status.successes):
            listed[str(outcome.get("id"))].add(status.id)
    sent_ids: set[str] = set()
    for write in journal.of("envelope"):
        objects = write.body["objects"]
        ids = [o["id"] for o in objects]
        sent_ids.update(ids)
        present = [i for i in ids if i in rows]
        if present and len(present) != len(ids):
            findings.problem(f"PARTIAL: envelope {write.key}: {len(present)} of {len(ids)} objects")
        if write.outcome == REFUSED and present:
            findings.problem(f"envelope {write.key} is there, but the node never read it")
        lists = set().union(*(listed.get(i, set()) for i in ids))
        if present and not lists:
            findings.problem(f"PARTIAL: envelope {write.key}: objects without their status")
        if lists and not present:
            findings.problem(f"PARTIAL: envelope {write.key}: a status without its objects")
        for obj in objects:
            for row_id, body in rows.get(obj["id"], []):
                if json.loads(body) != obj:
                    findings.problem(f"object {obj['id']} is stored otherwise than sent")
                if recipients[row_id] != set(RELEASED_TO):
                    findings.problem(
                        f"PARTIAL: object {obj['id']} released to {recipients[row_id]}"
                    )
                if obj["pattern"].split("'")[1] not in observed[row_id]:
                    findings.problem(f"PARTIAL: object {obj['id']} lacks its observable")
            if len(rows.get(obj["id"], [])) > 1:
                findings.problem(f"object {obj['id']} is stored {len(rows[obj['id']])} times")
        if write.outcome != ACKED:
            continue
        kept_status = statuses.get(str(write.answer.get("id")))
        answered = {str(o.get("id")) for o in write.answer.get("successes", [])}
        if write.answer.get("success_count") != len(ids) or answered != set(ids):
            findings.problem(f"envelope {write.key}: acknowledged as {write.answer}")
        elif len(present) != len(ids) or kept_status is None:
            findings.problem(
                f"LOST: acknowledged envelope {write.key}: {len(present)} of {len(ids)} objects, "
                f"status {'there' if kept_status else 'missing'}"
            )
        else:
            findings.found["envelope"] += 1
    for stix_id in set(rows) - sent_ids:
        findings.problem(f"object {stix_id} was never sent")


def _check_votes(session: Session, journal: Journal, findings: Findings) -> None:
    decisions = {d.id: d for d in session.scalars(select(Decision))}
    findings.stored["decision"] = len(decisions)
    by_question: dict[str, list[Decision]] = defaultdict(list)
    for decision in decisions.values():
        by_question[decision.question].append(decision)
    opened = _records(session, "crisis_decision", "open")
    closed = _records(session, "crisis_decision", "close")
    stated = _records(session, "crisis_decision", "position")
    signatures = _signatures(session, "crisis.position")
    positions = {
        (p.decision_id, p.state_code): p for p in session.scalars(select(DecisionPosition))
    }
    findings.stored["position"] = len(positions)
    sent_decisions = {w.key: w for w in journal.of("decision")}
    for question, found in by_question.items():
        if question not in sent_decisions and not question.startswith("setup:"):
            findings.problem(f"decision {found[0].id} ({question!r}) was never sent")
        if len(found) > 1:
            findings.problem(f"decision {question!r} is stored {len(found)} times")
    for key in set(opened) | set(closed) | set(stated):
        if int(key) not in decisions:
            findings.problem(f"PARTIAL: change records of decision {key}, which is not there")
    for write in sent_decisions.values():
        found = by_question.get(write.key, [])
        if write.outcome == REFUSED and found:
            findings.problem(f"decision {write.key!r} is there, but the node never read it")
        if write.outcome == ACKED:
            if [d.id for d in found] != [write.answer["id"]]:
                findings.problem(
                    f"LOST: acknowledged decision {write.answer['id']} ({write.key!r})"
                )
            else:
                findings.found["decision"] += 1
    # Positions: per decision and state, the signatures kept are some of those sent, in the
    # order sent, with every acknowledged one; each has its change record; the position
    # standing is the last one kept.
    sent_positions: dict[str, list[Write]] = defaultdict(list)
    for write in journal.of("position"):
        sent_positions[write.key].append(write)
    by_decision: dict[str, list[ChangeRecord]] = defaultdict(list)
    for key, records in stated.items():
        for record in records:
            by_decision[f"{key}/{(record.after or {}).get('state')}"].append(record)
    subjects = set(sent_positions) | set(signatures) | set(by_decision)
    subjects |= {f"{d}/{s}" for d, s in positions}
    for subject in sorted(subjects):
        decision_id, state = subject.split("/")
        kept = signatures.get(subject, [])
        records = by_decision.get(subject, [])
        kept_positions = [(s.document or {}).get("content", {}).get("position") for s in kept]
        if [(r.after or {}).get("position") for r in records] != kept_positions:
            findings.problem(
                f"PARTIAL: positions of {subject}: change records "
                f"{[(r.after or {}).get('position') for r in records]}, signatures {kept_positions}"
            )
        standing = positions.get((int(decision_id), state))
        if (standing.position if standing else None) != (kept_positions[-1] if kept else None):
            findings.problem(
                f"PARTIAL: {subject} stands at {standing and standing.position}, last signed {kept_positions[-1:]}"
            )
        writes = sent_positions.get(subject, [])
        signed = [w.body["signature"]["signature"] for w in writes]
        kept_signatures = [s.signature or "" for s in kept]
        if not _subsequence(kept_signatures, signed):
            findings.problem(
                f"positions of {subject}: kept signatures are not those sent, in order"
            )
        for write in writes:
            signature = write.body["signature"]["signature"]
            if write.outcome == REFUSED and signature in kept_signatures:
                findings.problem(f"position {subject} is there, but the node never read it")
            if write.outcome == ACKED:
                if signature not in kept_signatures:
                    findings.problem(
                        f"LOST: acknowledged position {subject} ({write.body['position']})"
                    )
                else:
                    findings.found["position"] += 1
    for decision in decisions.values():
        key = str(decision.id)
        if len(opened.get(key, [])) != 1:
            findings.problem(
                f"PARTIAL: decision {decision.id} has {len(opened.get(key, []))} open records"
            )
        is_closed = decision.closed_at is not None
        if len(closed.get(key, [])) != (1 if is_closed else 0) or is_closed != (
            decision.result is not None
        ):
            findings.problem(
                f"PARTIAL: decision {decision.id}: closed {is_closed}, result {decision.result}, {len(closed.get(key, []))} close records"
            )
    for write in journal.of("close"):
        target = decisions.get(int(write.key))
        if write.outcome == REFUSED and target is not None and target.closed_at is not None:
            findings.problem(f"decision {write.key} is closed, but the node never read the close")
        if write.outcome == ACKED:
            if (
                target is None
                or target.closed_at is None
                or target.result != write.answer["result"]
            ):
                findings.problem(f"LOST: acknowledged close of decision {write.key}")
            else:
                findings.found["close"] += 1
    # The outbox: every decision opened and closed told the same states, once each.
    session_events = Counter(
        session.scalars(
            select(CbmEvent.kind).where(
                CbmEvent.kind.in_(["crisis-request", "crisis-session", "crisis-decision"])
            )
        )
    )
    told = session_events["crisis-request"]
    shut = sum(1 for d in decisions.values() if d.closed_at is not None)
    if told and (session_events["crisis-session"], session_events["crisis-decision"]) != (
        told * len(decisions),
        told * shut,
    ):
        findings.problem(
            f"PARTIAL: crisis events {dict(session_events)} for {len(decisions)} decisions, {shut} closed"
        )


# --- a private PostgreSQL cluster -------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The directory of initdb and pg_ctl: INDIVISIBLE_TEST_PG_BINDIR, pg_config's answer, or
    the newest /usr/lib/postgresql/<version>/bin (Debian and Ubuntu put them there)."""
    candidates: list[Path] = []
    if os.environ.get("INDIVISIBLE_TEST_PG_BINDIR"):
        candidates.append(Path(os.environ["INDIVISIBLE_TEST_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        answer = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if answer.returncode == 0:
            candidates.append(Path(answer.stdout.strip()))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def cluster_unavailable_reason() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if postgres_bindir() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl); set INDIVISIBLE_TEST_PG_BINDIR"
    if os.geteuid() == 0:
        # initdb refuses to run as root: the cluster is the postgres user's.
        if shutil.which("runuser") is None:
            return "running as root, and there is no runuser to run initdb as postgres"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres user to run initdb as"
    return None


class PrivateCluster:
    """A PostgreSQL cluster of the test's own, in a temporary directory, on a port of its
    own: stopped and started at will, without touching the server other tests use."""

    def __init__(self, bindir: Path, port: int) -> None:
        self.bindir = bindir
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="indivisible-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        # Output to a file: pg_ctl's server keeps running after it, and must not hold our pipe.
        with (self.directory / "commands.log").open("a") as out:
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            done = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed:\n{self.tail()}")

    def tail(self) -> str:
        parts = []
        for path in (self.directory / "commands.log", self.log):
            if path.exists():
                parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "120",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = make_engine(self.url("postgres"))
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def destroy(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
