"""Credentials that travel in URL paths — sign-in links and assembly passes — kept out of
request logs (the development server's, gunicorn's; nginx has the same rule in
deploy/nginx.conf)."""

from __future__ import annotations

import re

__all__ = ["redact_paths"]

_TOKEN_PATHS = re.compile(r"(/sign-in/link/|/assemblies/\d+/pass/)[^\s?\"/]+")


def redact_paths(text: str) -> str:
    """``text`` with every sign-in or pass token in a path replaced by ``[redacted]``."""
    return _TOKEN_PATHS.sub(r"\1[redacted]", text)
