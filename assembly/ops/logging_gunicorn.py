"""A gunicorn logger that never writes sign-in or pass tokens (they are credentials) to the
access log."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from assembly.redact import redact_paths


class RedactingLogger(Logger):  # type: ignore[misc]
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "{raw_uri}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_paths(atoms[key])
        return atoms
