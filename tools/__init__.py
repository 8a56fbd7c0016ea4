"""Developer and CI tools of the project (not installed with the tracker, not loaded by the app)."""
