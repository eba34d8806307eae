"""The CLI: registry questions with --on and --json, account and token commands, the load report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from indivisible.auth.principal import Actor, Role
from indivisible.cli import app
from indivisible.db import make_engine, make_session_factory
from indivisible.sharing import service as sharing_service
from tests.conftest import Backend

runner = CliRunner()


def run(backend: Backend, *args: str) -> str:
    result = runner.invoke(app, [*args, "--database-url", backend.url])
    assert result.exit_code == 0, result.output
    return result.output


def test_members_on_a_date_as_json(backend: Backend) -> None:
    out = json.loads(
        run(
            backend,
            "registry",
            "members",
            "SCO",
            "--on",
            "2024-07-04",
            "--status",
            "member",
            "--json",
        )
    )
    assert {m["state_code"] for m in out["members"]} == {
        "CHN",
        "KAZ",
        "KGZ",
        "RUS",
        "TJK",
        "UZB",
        "IND",
        "PAK",
        "IRN",
        "BLR",
    }


def test_every_question_has_a_command(backend: Backend) -> None:
    assistance = json.loads(
        run(backend, "registry", "assistance", "KAZ", "--on", "2022-01-05", "--json")
    )
    assert "RUS" in {d["state"] for d in assistance["bound_to_assist"]}
    belt = json.loads(run(backend, "registry", "belt", "AFG", "--on", "2024-01-01", "--json"))
    assert len(belt["neighbours"]) == 6
    overlap = json.loads(
        run(backend, "registry", "overlap", "SCO", "CSTO", "--on", "2024-07-04", "--json")
    )
    assert "KAZ" in overlap["both"]
    standing = json.loads(
        run(backend, "registry", "standing", "kaz", "--on", "2020-01-01", "--json")
    )
    assert standing["state"] == "KAZ"
    parties = json.loads(
        run(backend, "registry", "parties", "CST-1992", "--on", "1998-06-01", "--json")
    )
    assert len(parties["parties"]) == 9
    timeline = json.loads(run(backend, "registry", "timeline", "CSTO", "--json"))
    assert any(row["state"] == "ARM" for row in timeline)
    assert "SCO" in run(backend, "registry", "members", "SCO", "--on", "2001-06-15")


def test_errors_are_clear_and_exit_2(backend: Backend) -> None:
    result = runner.invoke(app, ["registry", "members", "NOPE", "--database-url", backend.url])
    assert result.exit_code == 2
    assert "Unknown organisation NOPE" in result.output


def test_reloading_reports_nothing_new(backend: Backend) -> None:
    report = json.loads(run(backend, "registry", "load", "--json"))
    assert report["refused"] == []
    assert all(
        c.get("added", 0) == 0 and c.get("changed", 0) == 0 for c in report["counts"].values()
    )


def test_check_validates_files_without_a_database() -> None:
    result = runner.invoke(app, ["registry", "check"])
    assert result.exit_code == 0, result.output
    assert "sco.yaml" in result.output


def test_users_and_tokens(backend: Backend) -> None:
    out = run(
        backend,
        "user",
        "create",
        "cli-analyst",
        "--role",
        "analyst",
        "--name",
        "CLI analyst",
        "--state",
        "IND",
    )
    assert "Password (shown once)" in out
    users = json.loads(run(backend, "user", "list", "--json"))
    assert any(u["username"] == "cli-analyst" and u["state"] == "IND" for u in users)
    out = run(backend, "token", "create", "cli-analyst", "--name", "script")
    token_id = out.split()[1]
    tokens = json.loads(run(backend, "token", "list", "cli-analyst", "--json"))
    assert [t["name"] for t in tokens] == ["script"]
    run(backend, "token", "revoke", token_id)
    assert json.loads(run(backend, "token", "list", "cli-analyst", "--json"))[0]["revoked"]
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "cli-analyst",
            "--role",
            "analyst",
            "--name",
            "x",
            "--state",
            "IND",
            "--database-url",
            backend.url,
        ],
    )
    assert result.exit_code == 2 and "taken" in result.output


def test_codes_are_case_insensitive_and_bad_values_get_no_traceback(backend: Backend) -> None:
    out = json.loads(run(backend, "registry", "members", "sco", "--on", "2017-06-09", "--json"))
    assert out["organisation"] == "SCO"
    assert json.loads(run(backend, "registry", "timeline", "csto", "--json"))
    result = runner.invoke(
        app, ["token", "create", "admin", "--days", "0", "--database-url", backend.url]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "expires_in_days" in result.output
    result = runner.invoke(
        app, ["token", "revoke", "99999999999999999999", "--database-url", backend.url]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_disable_and_password_reset_shut_an_account_out(backend: Backend) -> None:
    run(
        backend,
        "user",
        "create",
        "cli-disable",
        "--role",
        "observer",
        "--name",
        "D",
        "--state",
        "MNG",
    )
    run(backend, "user", "disable", "cli-disable")
    users = {u["username"]: u for u in json.loads(run(backend, "user", "list", "--json"))}
    assert users["cli-disable"]["active"] is False
    assert "no" in run(backend, "user", "list").split("cli-disable", 1)[1].splitlines()[0]
    run(backend, "user", "enable", "cli-disable")
    assert "New password for cli-disable" in run(backend, "user", "password", "cli-disable")


def test_demo_scenario_shares_two_reports_that_correlate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--database-url", url]).exit_code == 0
    first = runner.invoke(app, ["demo", "--database-url", url])
    assert first.exit_code == 0, first.output
    listed = json.loads(
        runner.invoke(
            app, ["sharing", "collection", "list", "--database-url", url, "--json"]
        ).output
    )
    assert {(c["api_root"], c["title"]) for c in listed} == {
        ("node", "Shared with the node"),
        ("sco", "SCO members"),
    }
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            analyst = Actor(label="t", role=Role.analyst, state_code="RUS")
            linked = sharing_service.correlations(
                session, analyst, "indicator--6d1f8f3e-0d5a-4c1e-9d0c-3f6e2a7b9c01"
            )
            assert [(c.submitter_state, c.type) for c in linked] == [("TJK", "ipv4-addr")]
            # The United States is no SCO member: it sees the node-wide report, alone.
            outsider = Actor(label="t", role=Role.analyst, state_code="USA")
            assert (
                sharing_service.correlations(
                    session, outsider, "indicator--6d1f8f3e-0d5a-4c1e-9d0c-3f6e2a7b9c01"
                )
                == []
            )
    finally:
        engine.dispose()
    # Running it again adds nothing.
    assert runner.invoke(app, ["demo", "--database-url", url]).exit_code == 0
    again = runner.invoke(app, ["sharing", "collection", "list", "--database-url", url, "--json"])
    assert len(json.loads(again.output)) == 2


def test_serve_uses_the_database_given_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indivisible.cli.node import point_app_at
    from indivisible.config import get_settings

    monkeypatch.delenv("INDIVISIBLE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    assert get_settings().database_url != f"sqlite:///{tmp_path / 'x.db'}"
    point_app_at(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        # What create_app() reads when uvicorn builds the app in this process.
        assert get_settings().database_url == f"sqlite:///{tmp_path / 'x.db'}"
    finally:
        monkeypatch.delenv("INDIVISIBLE_DATABASE_URL", raising=False)
        get_settings.cache_clear()
