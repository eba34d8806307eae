"""Principals, roles, passwords, API tokens and web sessions; one authorisation layer for all routes."""
