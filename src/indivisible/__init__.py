"""Indivisible: the software a collective-security architecture runs on."""

__version__ = "0.1.0"
