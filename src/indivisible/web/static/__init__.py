"""Static assets shipped as package data (loaded with importlib.resources)."""
