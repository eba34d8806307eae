"""Node settings, read from the environment (prefix ``INDIVISIBLE_``); nothing happens on import."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/indivisible.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INDIVISIBLE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # A request body larger than this is refused with 413 before it is parsed.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # TAXII envelopes are larger than API bodies; this is the max_content_length the API roots
    # announce, and bodies over it get 413.
    taxii_max_content_length: int = Field(default=5 * 1024 * 1024, ge=1024)
    session_ttl_hours: int = Field(default=12, ge=1)
    # Off by default because the embedded node serves plain HTTP on loopback, where browsers
    # would drop Secure cookies; turn it on whenever the node is reached over HTTPS.
    secure_cookies: bool = False
    default_locale: str = "en"
    # Directories of extra CBM rule-set files (docs/cbm.md), separated like PATH: a regime is
    # added by writing a file, without a release of the platform.
    cbm_rules: str = ""
    # How often the node posts due webhook deliveries (seconds); 0 leaves it to
    # `indivisible cbm deliver`, e.g. in a separate process.
    webhook_interval_seconds: float = Field(default=5.0, ge=0)
    # The early-warning event store (DuckDB). Unset: events.duckdb beside a SQLite database,
    # or ./var/events.duckdb for a server database.
    events_path: str = ""
    # Whether submissions that bind a state (notifications, annual data, requests for
    # assistance, positions) may come unsigned; they are marked unsigned where they do. Off:
    # a production node takes only signed ones. `indivisible start` turns it on for the demo
    # unless this is set.
    allow_unsigned_submissions: bool = False
    # How old a signature may be when it arrives; older ones are refused (replays of an old
    # submission after the key was rotated, or of a stale one).
    signature_max_age_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Whether STIX objects must carry the signature of the state that wrote them (the
    # extension in sharing/signatures.py) to be stored, from TAXII, the API and linked nodes
    # alike. Off: TAXII clients of other platforms do not sign; a signature an object carries
    # is checked either way, and unsigned objects are shown as such.
    signed_objects_required: bool = False
    # How often the node seals new change records into the audit log (seconds; 0 leaves it
    # to `indivisible audit seal`), and how often at most it signs a new tree head.
    audit_seal_interval_seconds: float = Field(default=1.0, ge=0)
    audit_tree_head_interval_seconds: float = Field(default=60.0, ge=0)
    # The node's Ed25519 key for tree heads. Unset: node-key.pem beside a SQLite database, or
    # ./var/node-key.pem for a server database.
    node_key_path: str = ""
    # Requests a second, on average, per API token or web session and per client address,
    # with the burst allowed at once; 0 turns a limit off. Each uvicorn worker counts on its
    # own (docs/operator.md, "Rate limits and login throttling"). Behind a reverse proxy, run
    # uvicorn with --proxy-headers so that the address is the client's, not the proxy's.
    rate_limit_per_token: float = Field(default=20.0, ge=0)
    rate_limit_per_token_burst: int = Field(default=200, ge=1)
    rate_limit_per_address: float = Field(default=50.0, ge=0)
    rate_limit_per_address_burst: int = Field(default=500, ge=1)
    # Requests one serving process works on at once; the rest wait in line in the event loop.
    # The process's database pool keeps this many connections open, plus one for each
    # background round, so an admitted request always finds one. Few is fast: the requests
    # of one process share its GIL, and at 50 clients 4 served more than 12 did
    # (benchmarks/README.md, "Requests in flight"); but a slow request (the forecast
    # dashboard, a large export) holds its place while it runs.
    max_requests_in_flight: int = Field(default=4, ge=1)
    # Failed logins (web form and TAXII Basic) allowed in the window before further tries
    # wait: for one account from one address, from one address over all accounts, and for
    # one account from anywhere; 0 turns one off.
    login_failures_per_account_and_address: int = Field(default=5, ge=0)
    login_failures_per_address: int = Field(default=20, ge=0)
    login_failures_per_account: int = Field(default=100, ge=0)
    login_window_minutes: float = Field(default=15.0, gt=0)

    def node_key_file(self) -> Path:
        if self.node_key_path:
            return Path(self.node_key_path)
        database = self.sqlite_path()
        return (database.parent if database is not None else Path("var")) / "node-key.pem"

    def events_file(self) -> Path:
        if self.events_path:
            return Path(self.events_path)
        database = self.sqlite_path()
        return (database.parent if database is not None else Path("var")) / "events.duckdb"

    def cbm_rules_dirs(self) -> list[Path]:
        return [Path(part) for part in self.cbm_rules.split(os.pathsep) if part.strip()]

    def sqlite_path(self) -> Path | None:
        """The database file when the URL is a file-backed SQLite one."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :])
        return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
