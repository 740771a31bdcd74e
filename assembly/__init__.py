"""assembly: membership institutions, their board elections, assemblies and signed records.

Importing ``assembly`` (or its pure core, ``assembly.counting``) loads no web framework: the
application factory is imported on first use, so anyone can recount with the standard
library alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ConfigError", "__version__", "create_app"]
from assembly.version import __version__

if TYPE_CHECKING:
    from assembly.app import create_app
    from assembly.config import ConfigError


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from assembly.app import create_app

        return create_app
    if name == "ConfigError":
        from assembly.config import ConfigError

        return ConfigError
    raise AttributeError(f"module 'assembly' has no attribute {name!r}")
