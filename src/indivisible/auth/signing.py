"""Signatures of states over what they submit: Ed25519 over the canonical JSON of the
submission (RFC 8785, the JSON Canonicalization Scheme), so that the same document signs the
same whatever its key order or spacing, and anyone can check it offline with the public key.

A key's id is the first 16 bytes of the SHA-256 of its raw 32-byte public key, in hex: it
names the key without a registry and cannot be chosen by whoever registers it. Private keys
never reach the node: ``generate`` and ``sign`` run on the user's machine (the CLI).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class BadKey(ValueError):
    """Not an Ed25519 public key in a form the platform reads."""


def canonical(document: Any) -> bytes:
    """The RFC 8785 canonical form of a JSON value."""
    return rfc8785.dumps(document)


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:32]


def public_bytes(text: str) -> bytes:
    """A public key from base64 of its 32 raw bytes, or from a PEM SubjectPublicKeyInfo."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            loaded = serialization.load_pem_public_key(text.encode())
        except ValueError as exc:
            raise BadKey("not a PEM public key") from exc
        if not isinstance(loaded, Ed25519PublicKey):
            raise BadKey("not an Ed25519 key")
        return loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise BadKey("not base64") from exc
    if len(raw) != 32:
        raise BadKey("an Ed25519 public key is 32 bytes")
    return raw


def generate() -> tuple[bytes, bytes]:
    """A new key pair: (private key as PKCS#8 PEM, raw public key)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return pem, public


def load_private(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise BadKey("not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BadKey("not an Ed25519 key")
    return key


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def public_b64(private: Ed25519PrivateKey) -> str:
    """The public half as registered and published: base64 of its 32 raw bytes."""
    return base64.b64encode(_raw_public(private)).decode()


def sign(private: Ed25519PrivateKey, document: Any) -> dict[str, str]:
    """A detached signature: the key id and the base64 signature of the canonical form."""
    return {
        "key_id": key_id(_raw_public(private)),
        "algorithm": "ed25519-jcs",
        "signature": base64.b64encode(private.sign(canonical(document))).decode(),
    }


def verify(public: bytes, document: Any, signature: str) -> bool:
    """Whether ``signature`` (base64) signs the canonical form of ``document``."""
    try:
        data = canonical(document)
    except ValueError:
        return False
    return verify_canonical(public, data, signature)


def verify_canonical(public: bytes, data: bytes, signature: str) -> bool:
    """``verify`` for a document already in canonical form, for callers that needed that form
    anyway: a large document is not canonicalised twice."""
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(raw, data)
    except (ValueError, InvalidSignature):
        return False
    return True
