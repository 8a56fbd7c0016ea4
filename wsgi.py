"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""
from tracker import create_app

app = create_app()
