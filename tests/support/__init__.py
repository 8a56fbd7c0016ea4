"""Helpers shared by the tests: factories, API and page helpers, an SMTP server, browser steps (no fixtures)."""
