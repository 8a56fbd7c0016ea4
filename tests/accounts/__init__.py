"""Tests of tracker.accounts: sign-in, passwords, CSRF, API tokens and user accounts."""
