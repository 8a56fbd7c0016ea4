"""Tests of tracker.demo: the `tracker demo` data set."""
