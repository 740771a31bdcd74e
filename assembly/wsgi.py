"""The WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py assembly.wsgi:app``.

A configuration error ends the process with one line on stderr, not a traceback.
"""

from __future__ import annotations

import sys

from assembly import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:
    sys.stderr.write(f"assembly: configuration error: {error}\n")
    sys.exit(3)  # gunicorn stops (rather than respawning) on a worker boot error, exit 3
