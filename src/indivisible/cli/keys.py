"""``indivisible keys``: signing keys on the user's own machine. The private key never
leaves it: ``generate`` writes it to a file, ``sign`` signs a JSON document with it, and
``verify`` checks a signature offline against a public key, with no node at all."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import typer

from indivisible.auth import signing
from indivisible.cli.common import DatabaseOption, console, err_console, transaction

app = typer.Typer(help="Signing keys: generate, sign and verify offline.", no_args_is_help=True)


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err_console.print(f"[red]error[/red] ({what}): {exc}")
        raise typer.Exit(2) from exc


def _private_key(path: Path) -> Any:
    try:
        return signing.load_private(path.read_bytes())
    except signing.BadKey as exc:
        err_console.print(f"[red]error[/red] (--key): {exc}")
        raise typer.Exit(2) from exc


@app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Where to write the private key (PEM)."),
) -> None:
    """A new Ed25519 key pair: the private key to a file readable by you alone, the public
    key printed (base64) to register with `POST /api/v1/auth/keys`."""
    if out.exists():
        err_console.print(f"[red]error[/red] (--out): {out} exists; refusing to overwrite a key")
        raise typer.Exit(2)
    pem, public = signing.generate()
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    # Plain lines, never wrapped: they are copied into requests.
    typer.echo(f"key id {signing.key_id(public)}")
    typer.echo(base64.b64encode(public).decode())


@app.command("sign")
def sign(
    document: Path = typer.Argument(..., exists=True, dir_okay=False, help="A JSON document."),
    key: Path = typer.Option(
        ..., "--key", exists=True, dir_okay=False, help="Your private key (PEM)."
    ),
) -> None:
    """Print a detached signature of the document's canonical form (RFC 8785)."""
    private = _private_key(key)
    try:
        signed = signing.sign(private, _json(document, "document"))
    except ValueError as exc:
        err_console.print(f"[red]error[/red] (document): not canonical JSON (RFC 8785): {exc}")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(signed))


@app.command("verify")
def verify(
    document: Path = typer.Argument(..., exists=True, dir_okay=False, help="A JSON document."),
    signature: Path = typer.Option(
        ..., "--signature", exists=True, dir_okay=False, help="The detached signature (JSON)."
    ),
    public_key: str = typer.Option(
        ..., "--public-key", help="The signer's public key (base64 or a PEM file path)."
    ),
) -> None:
    """Check a signature offline: exit 0 when it signs the document, 1 when it does not."""
    text = (
        Path(public_key).read_text(encoding="utf-8") if Path(public_key).is_file() else public_key
    )
    try:
        raw = signing.public_bytes(text)
    except signing.BadKey as exc:
        err_console.print(f"[red]error[/red] (--public-key): {exc}")
        raise typer.Exit(2) from exc
    detached = _json(signature, "signature")
    if not isinstance(detached, dict) or detached.get("key_id") != signing.key_id(raw):
        console.print("NOT VALID: the signature names another key.")
        raise typer.Exit(1)
    if signing.verify(raw, _json(document, "document"), str(detached.get("signature", ""))):
        console.print(f"valid: signed with key {detached['key_id']}")
        return
    console.print("NOT VALID: the signature does not match the document.")
    raise typer.Exit(1)


@app.command("sign-objects")
def sign_objects(
    stix: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="STIX objects: one object, a list, a bundle or a TAXII envelope.",
    ),
    key: Path = typer.Option(
        ..., "--key", exists=True, dir_okay=False, help="Your state's private key (PEM)."
    ),
    state: str = typer.Option(..., "--state", help="Your state (ISO 3166-1 alpha-3)."),
) -> None:
    """Print the same JSON with each STIX object signed by your state (the property extension
    a node checks when it stores the object, and every node it is forwarded to)."""
    from indivisible.sharing import signatures

    private = _private_key(key)
    if not (len(state) == 3 and state.isascii() and state.isupper()):
        err_console.print("[red]error[/red] (--state): an ISO 3166-1 alpha-3 code, e.g. KAZ")
        raise typer.Exit(2)
    data = _json(stix, "stix")

    def signed(obj: Any) -> Any:
        if not (isinstance(obj, dict) and isinstance(obj.get("type"), str) and "id" in obj):
            err_console.print("[red]error[/red] (stix): an entry is not a STIX object")
            raise typer.Exit(2)
        try:
            return signatures.sign(private, state, obj)
        except ValueError as exc:
            err_console.print(f"[red]error[/red] (stix): {obj['id']}: not canonical JSON: {exc}")
            raise typer.Exit(2) from exc

    if isinstance(data, list):
        out: Any = [signed(obj) for obj in data]
    elif isinstance(data, dict) and isinstance(data.get("objects"), list):
        out = {**data, "objects": [signed(obj) for obj in data["objects"]]}
    else:
        out = signed(data)
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


@app.command("adopt")
def adopt(
    listing: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="Another node's key list, as its GET /api/v1/auth/keys answers.",
    ),
    source: str = typer.Option(
        ..., "--source", help="Where the list came from (kept in the audit log)."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Record the keys of states that sign on another node, so that this node checks what
    they signed (STIX objects that linked nodes forward). Run it again with a newer list to
    record retirements and revocations."""
    from pydantic import TypeAdapter, ValidationError

    from indivisible.auth import keys
    from indivisible.auth.principal import Actor
    from indivisible.auth.schemas import KeyRead

    try:
        listed = TypeAdapter(list[KeyRead]).validate_python(_json(listing, "listing"))
    except ValidationError as exc:
        err_console.print(f"[red]error[/red] (listing): not a key list: {exc}")
        raise typer.Exit(2) from exc
    with transaction(database_url) as session:
        found = keys.adopt(session, Actor.console("keys-adopt"), listed, source)
        rows = [(k.id, k.state_code, k.valid_to, k.revoked_at) for k in found]
    for key_id, state, valid_to, revoked_at in rows:
        ended = "revoked" if revoked_at else "retired" if valid_to else "in use"
        typer.echo(f"{key_id}\t{state}\t{ended}")


VERDICTS = {
    "ok": "valid",
    "unsigned": "NOT SIGNED: the item says it came unsigned",
    "incomplete": "NOT VALID: the signature block lacks its key, document or signature",
    "other_key": "NOT VALID: the key id is not the public key's",
    "other_state": "NOT VALID: the signed document names another state",
    "bad_signature": "NOT VALID: the signature does not match the signed document",
}


def _signed_items(data: Any) -> list[dict[str, Any]]:
    """Every item in the file that carries a signature block, wherever it sits: one item, a
    list, a list answer's ``items``, a crisis with its requests and positions, or STIX
    objects signed by their state (a bundle or envelope, checked with --public-key)."""
    from indivisible.sharing import signatures

    found: list[dict[str, Any]] = []
    if isinstance(data, dict):
        if signatures.claim(data) is not None and isinstance(data.get("type"), str):
            return [signatures.block(data)]
        block = data.get("signature")
        carries = isinstance(block, dict) and "signed" in block
        if carries or ("signed" in data and "document" in data):
            found.append(data)
        for key, value in data.items():
            # An object view's signature block covers its object already.
            if key != "signature" and not (carries and key == "object"):
                found += _signed_items(value)
    elif isinstance(data, list):
        for value in data:
            found += _signed_items(value)
    return found


@app.command("verify-item")
def verify_item(
    item: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="What the API shows (a notification, annual data, a crisis with its requests "
        "and positions, or a list of them): every signature block in it is checked.",
    ),
    public_key: str | None = typer.Option(
        None,
        "--public-key",
        help="The key you trust for the signing state (base64 or a PEM file path). Without "
        "it, the key the item carries is used, which proves the item unchanged since it was "
        "signed with that key, not that the key is the state's.",
    ),
) -> None:
    """Check exported items' signatures offline, with no node: exit 0 when every signed
    item in the file is signed and valid, 1 when one is not."""
    from indivisible.auth.submissions import check_offline

    items = _signed_items(_json(item, "item"))
    if not items:
        err_console.print("[red]error[/red] (item): no signature block found in the file")
        raise typer.Exit(2)
    pinned = None
    if public_key is not None:
        text = (
            Path(public_key).read_text(encoding="utf-8")
            if Path(public_key).is_file()
            else public_key
        )
        try:
            signing.public_bytes(text)
        except signing.BadKey as exc:
            err_console.print(f"[red]error[/red] (--public-key): {exc}")
            raise typer.Exit(2) from exc
        pinned = text
    all_valid = True
    for number, entry in enumerate(items, start=1):
        valid, reason = check_offline(entry, pinned)
        all_valid = all_valid and valid
        found = entry.get("signature") if "document" not in entry else entry
        block: dict[str, Any] = found if isinstance(found, dict) else {}
        signed = block.get("document")
        document: dict[str, Any] = signed if isinstance(signed, dict) else {}
        # One plain line per item, never wrapped, so that scripts can read it too.
        typer.echo(
            f"{number}\t{document.get('type', '-')}\t{block.get('state', '-')}"
            f"\tkey {block.get('key_id') or '-'}\tsigned {document.get('signed_at', '-')}"
            f"\t{VERDICTS.get(reason, reason)}"
        )
    if pinned is None and all_valid:
        typer.echo(
            "The key each item carries was used: check that it is the state's "
            "(GET /api/v1/auth/keys on the node, or the state itself), or pass --public-key."
        )
    if not all_valid:
        raise typer.Exit(1)
