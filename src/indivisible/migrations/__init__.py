"""Alembic migrations, shipped inside the package so an installed node can migrate itself."""
