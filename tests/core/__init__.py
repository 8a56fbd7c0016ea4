"""Tests of tracker.core: app start, calendar, workflow, permissions, refusal log, lease; the tests' layout."""
