"""Tests of tracker.issues: services, scoping, figures, pages, the API and the journeys through them."""
