"""Tests for the web interface."""
