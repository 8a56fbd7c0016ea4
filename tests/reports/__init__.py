"""Tests of tracker.reports: home page, statistics, scorecard and the monthly report."""
