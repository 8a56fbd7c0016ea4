"""Tests of tracker.escalation: the day's jobs (ladder, monthly cycle, digests, settings, runner) and their pages."""
