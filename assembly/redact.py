"""What must not reach a log: credentials that travel in URL paths — sign-in links and
assembly passes — (the development server's and gunicorn's request logs; nginx has the same
rule in deploy/nginx.conf), and the messages of unexpected errors, which may quote personal
data."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

__all__ = ["failure", "redact_paths"]

_TOKEN_PATHS = re.compile(r"(/sign-in/link/|/assemblies/\d+/pass/)[^\s?\"/]+")


def redact_paths(text: str) -> str:
    """``text`` with every sign-in or pass token in a path replaced by ``[redacted]``."""
    return _TOKEN_PATHS.sub(r"\1[redacted]", text)


def failure(error: BaseException) -> str:
    """An unexpected error for the log: its type and where it happened (the frames), never its
    message, which may quote personal data (a database error quotes the row it refused)."""
    frames = traceback.extract_tb(error.__traceback__)[-6:]
    where = "; ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)
    return f"{type(error).__module__}.{type(error).__name__} at {where or 'unknown'}"
