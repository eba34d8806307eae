"""``indivisible cbm``: rule sets listed and checked, a notification filed (and signed) from
the console."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from typer.testing import CliRunner

from indivisible.auth import keys, signing, submissions
from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import KeyCreate, PrincipalCreate
from indivisible.cli import app
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.registry import loader


def node(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        console = Actor.console("test")
        loader.load(session, console)
        auth_service.create_principal(
            session,
            console,
            PrincipalCreate(username="kaz-lo", display_name="KAZ", role=Role.liaison, state="KAZ"),
        )
    engine.dispose()
    return url


def test_rules_are_listed_and_checked(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["cbm", "rules", "--json"])
    assert listed.exit_code == 0
    assert {r["code"] for r in json.loads(listed.stdout)} >= {"SHANGHAI-CBM-1996"}
    assert runner.invoke(app, ["cbm", "check"]).exit_code == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: indivisible-cbm/1\ncode: X\nsurprise: 1\n")
    checked = runner.invoke(app, ["cbm", "check", str(broken)])
    assert checked.exit_code == 1 and "surprise" in checked.stderr


def test_a_notification_filed_from_the_console(tmp_path: Path) -> None:
    url = node(tmp_path)
    pem, public = signing.generate()
    (tmp_path / "kaz.pem").write_bytes(pem)
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        liaison = Actor(label="kaz-lo", role=Role.liaison, state_code="KAZ")
        keys.register(session, liaison, KeyCreate(public_key=base64.b64encode(public).decode()))
    engine.dispose()
    runner = CliRunner()
    args = ["cbm", "notify", "--as", "kaz-lo", "--start", "2026-06-01", "--end", "2026-06-05",
            "--point", "80.0,44.5", "--force", "personnel=36000", "--filed-on", "2026-05-20",
            "--json", "--database-url", url]  # fmt: skip
    # This node takes signed submissions only (the default).
    unsigned = runner.invoke(app, args)
    assert unsigned.exit_code == 2 and "(signature)" in unsigned.stderr
    filed = runner.invoke(app, [*args, "--key", str(tmp_path / "kaz.pem")])
    assert filed.exit_code == 0, filed.output
    body = json.loads(filed.stdout)
    assert body["filed_on"] == "2026-05-20"
    # Signed on this machine, checked by the node, and checkable again offline.
    assert body["signature"]["signed"] and body["signature"]["state"] == "KAZ"
    assert submissions.check_offline(body) == (True, "ok")
    assert {r["state"] for r in body["recipients"]} == {"CHN", "KGZ", "RUS", "TJK"}
    bad = runner.invoke(
        app,
        ["cbm", "notify", "--as", "kaz-lo", "--start", "2026-06-05", "--end", "2026-06-01",
         "--point", "80.0,44.5", "--database-url", url],
    )  # fmt: skip
    assert bad.exit_code == 2 and "(end)" in bad.stderr
