"""Tests of migrations/: Alembic migrations through the `tracker` console script."""
