"""A gunicorn logger that never writes sign-in tokens (they are credentials) to the access log."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

TOKEN_PATH = re.compile(r"/sign-in/link/[^\s?\"]+")


class RedactingLogger(Logger):  # type: ignore[misc]
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "{raw_uri}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = TOKEN_PATH.sub("/sign-in/link/[redacted]", atoms[key])
        return atoms
