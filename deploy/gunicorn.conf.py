"""gunicorn's settings for the tracker behind nginx (deploy/nginx/tracker.conf).

    gunicorn -c deploy/gunicorn.conf.py wsgi:app      (in the project folder)

Sync workers on loopback only: nginx reads each request whole before handing it over and takes each
answer whole, so a worker never waits on a slow client. Command-line options override these.
"""
import os

# Only nginx talks to gunicorn; never bind it to a public address.
bind = "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
# A request that takes longer is ended (and its worker restarted).
timeout = 30
graceful_timeout = 30
# gunicorn's own reading of X-Forwarded-Proto: only from the local nginx (the app uses ProxyFix too).
forwarded_allow_ips = "127.0.0.1,::1"
# Access log to stdout, errors to stderr (journald under systemd).
accesslog = "-"
errorlog = "-"
