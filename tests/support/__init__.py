"""Helpers shared by the tests: factories, API and page helpers, a loopback SMTP server, browser steps (no fixtures, no tests)."""
