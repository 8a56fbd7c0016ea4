"""Tests of tracker.notify: mail, the outbox, notices and digest preferences."""
