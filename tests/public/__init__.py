"""Tests of tracker.public: the public disclosure page."""
