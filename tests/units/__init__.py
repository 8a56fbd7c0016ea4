"""Tests of tracker.units: responsible units through the API."""
