"""Tests of tracker.admin: units, users and rounds pages, job settings and the mail log."""
