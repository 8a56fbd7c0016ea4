"""Tests of tracker.core: app start, calendar, workflow, permissions, API schemas, refusal log, lease; the layout."""
