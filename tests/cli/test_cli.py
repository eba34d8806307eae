"""The CLI: registry questions with --on and --json, account and token commands, the load report."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from indivisible.cli import app
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
