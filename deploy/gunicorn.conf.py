"""gunicorn settings for assembly (loaded with ``-c deploy/gunicorn.conf.py``).

Every value can be overridden from the environment with GUNICORN_* as in gunicorn's docs.
"""

import multiprocessing
import os

bind = os.environ.get("ASSEMBLY_BIND", "127.0.0.1:8000")
# Sync workers: requests are short and database-bound. Two per core plus one.
workers = int(os.environ.get("ASSEMBLY_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
forwarded_allow_ips = "127.0.0.1"
# Access log without query strings or sign-in tokens: %(U)s is the path only, and sign-in
# links are rewritten by the logger class below.
accesslog = "-"
# The last field is the worker's process id.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms %(p)s'
errorlog = "-"
loglevel = "info"
logger_class = "assembly.ops.logging_gunicorn.RedactingLogger"
preload_app = False


def on_starting(server):
    """Check the settings once, in the master, so a bad one stops gunicorn with one line."""
    import sys

    from assembly import ConfigError, create_app

    try:
        create_app()
    except ConfigError as error:
        sys.stderr.write(f"assembly: configuration error: {error}\n")
        sys.exit(2)
