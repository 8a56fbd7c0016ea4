"""Tests of tracker.core: app start, calendar, workflow, permissions, refusal log, lease, and the layout of the tests."""
