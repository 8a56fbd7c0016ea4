"""Tests of tracker.ledger: ledger export and import, background jobs, plan parsing and import."""
