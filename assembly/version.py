"""The software's version, as records and pages name it (one place, importing nothing)."""

__version__ = "0.1.0"
