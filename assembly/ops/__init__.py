"""Running a deployment, rather than any one feature's rules: the health and readiness
endpoints (``health``), ``assembly backup`` and ``assembly restore`` (``backup``), the timers'
jobs for hosts without systemd (``timers``), gunicorn's token-redacting access logger
(``logging_gunicorn``) and the demo data for development (``demo``).

Nothing here is imported at package level: ``assembly.cli`` loads ``timers`` before any app
exists, and gunicorn loads ``logging_gunicorn`` by name from deploy/gunicorn.conf.py.
"""
