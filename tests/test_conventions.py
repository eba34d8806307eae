"""Structural rules the codebase keeps, checked so that new code cannot forget them."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

PUBLIC = {("GET", "/api/v1/health")}
SRC = Path(__file__).resolve().parent.parent / "src" / "indivisible"


PROBLEM = "application/problem+json"


def test_every_api_route_requires_authentication(app: FastAPI, client: TestClient) -> None:
    """Walks the OpenAPI description: a new route is covered the day it is added."""
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            if (method.upper(), path) in PUBLIC:
                continue
            response = client.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (
                f"{method.upper()} {path} answered {response.status_code}"
            )
            expected = "application/taxii+json" if path.startswith("/taxii2/") else PROBLEM
            assert response.headers["content-type"].startswith(expected)
            checked += 1
    assert checked >= 20


def test_services_never_commit() -> None:
    """The request or CLI command owns the transaction; services only flush."""
    for path in SRC.rglob("service.py"):
        assert ".commit()" not in path.read_text(), path


def test_routes_do_not_query_tables_directly() -> None:
    """Routes go through services, so rules and visibility live in one place."""
    for path in SRC.rglob("api.py"):
        text = path.read_text()
        assert "select(" not in text and "session.get(" not in text, path
