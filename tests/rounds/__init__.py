"""Tests of tracker.rounds: inspection rounds through the API."""
