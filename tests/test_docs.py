"""The generated references match the code; regenerate with `python tools/refdocs.py`."""

from __future__ import annotations

from tools.refdocs import DOCS, api_markdown, cli_markdown


def test_api_reference_is_current() -> None:
    assert (DOCS / "api.md").read_text(encoding="utf-8") == api_markdown()


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == cli_markdown()
