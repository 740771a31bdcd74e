"""The membership blueprint, and what its pages share."""

from __future__ import annotations

from flask import Blueprint

from assembly.errors import DomainError

__all__ = ["PAGE_SIZE", "bp", "form_error"]

bp = Blueprint("membership", __name__)

#: Rows per page of a paginated list.
PAGE_SIZE = 50


def form_error(form, field: str, error: DomainError) -> None:  # type: ignore[no-untyped-def]
    """Show a refused operation's message beside the field it is about."""
    form[field].errors = [*form[field].errors, error.message]
