"""A live TAXII node: its own SQLite file, accounts for three states and collections with
different grants and releases, served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.registry import loader
from indivisible.sharing import service
from indivisible.sharing.schemas import CollectionCreate, Distribution, Grant, Grantee, Release
from tests.live import serving


@dataclass(frozen=True)
class Client:
    username: str
    password: str
    token: str


@dataclass(frozen=True)
class TaxiiNode:
    base: str
    clients: dict[str, Client]
    # title -> collection id
    collections: dict[str, str]

    @property
    def discovery(self) -> str:
        return f"{self.base}/taxii2/"

    def root(self, name: str = "node") -> str:
        return f"{self.base}/taxii2/{name}/"

    def collection(self, title: str, root: str = "node") -> str:
        return f"{self.root(root)}collections/{self.collections[title]}/"


ACCOUNTS = {
    "kaz": (Role.liaison, "KAZ", None),
    "kgz": (Role.liaison, "KGZ", None),
    "rus": (Role.analyst, "RUS", None),
    "usa": (Role.liaison, "USA", None),
    "sco": (Role.secretariat, None, "SCO-SECRETARIAT"),
}


@pytest.fixture(scope="session")
def taxii_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaxiiNode]:
    workdir = tmp_path_factory.mktemp("taxii")
    url = f"sqlite:///{workdir / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    console = Actor.console("taxii-test")
    clients: dict[str, Client] = {}
    collections: dict[str, str] = {}
    with unit_of_work(make_session_factory(engine)) as session:
        loader.load(session, console)
        for name, (role, state, body) in ACCOUNTS.items():
            password = f"{name}-taxii-password"
            auth_service.create_principal(
                session,
                console,
                PrincipalCreate(
                    username=f"taxii-{name}",
                    display_name=name,
                    role=role,
                    state=state,
                    body=body,
                    password=password,
                ),
            )
            issued = auth_service.issue_token(
                session, console, TokenCreate(name="taxii"), for_username=f"taxii-{name}"
            )
            clients[name] = Client(f"taxii-{name}", password, issued.secret)
        everyone = [Grant(grantee=Grantee.everyone, can_read=True, can_write=True)]
        specs = {
            "shared": (None, Release(distribution=Distribution.node), everyone),
            "private": (None, Release(distribution=Distribution.submitter), everyone),
            "kaz-only": (
                None,
                Release(distribution=Distribution.node),
                [Grant(grantee=Grantee.state, state="KAZ", can_read=True, can_write=True)],
            ),
            "read-only": (
                None,
                Release(distribution=Distribution.node),
                [Grant(grantee=Grantee.everyone, can_read=True, can_write=False)],
            ),
            "sco": (
                "SCO",
                Release(distribution=Distribution.organisation, organisation="SCO"),
                [Grant(grantee=Grantee.organisation, organisation="SCO", can_write=True)],
            ),
        }
        for title, (organisation, release, grants) in specs.items():
            collection = service.create_collection(
                session,
                console,
                CollectionCreate(
                    title=title, organisation=organisation, release=release, grants=grants
                ),
            )
            collections[title] = collection.id
    engine.dispose()
    with serving(url, Path(str(workdir))) as base:
        yield TaxiiNode(base, clients, collections)
