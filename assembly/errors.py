"""The ``DomainError`` tree and the error pages.

Operations raise a ``DomainError`` subclass with a message a secretary can act on; a view lets
it propagate and the handler here rolls back, then renders the message with the right status.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from assembly.extensions import db


class DomainError(Exception):
    """A request that the rules refuse; ``status`` is the HTTP status it maps to."""

    status = 400
    title = "There is a problem"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RuleViolation(DomainError):
    """The request breaks a rule (a bad value, a broken timetable)."""

    status = 400


class NotEligible(DomainError):
    """The actor may not do this."""

    status = 403
    title = "You cannot do this"


class NotFound(DomainError):
    """The thing asked for does not exist."""

    status = 404
    title = "Page not found"


class InvalidTransition(DomainError):
    """The thing is not in a state that allows this step."""

    status = 409
    title = "This cannot be done now"


class Conflict(DomainError):
    """The change collides with what is already there."""

    status = 409
    title = "This already exists"


class RosterError(DomainError):
    """A roster cannot be imported as it is."""

    status = 400


def register_error_handlers(app: Flask) -> None:
    """Render every error as a page (or JSON under ``/api/``), rolling back first."""

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if wants_json():
            return {"error": type(error).__name__, "message": error.message}, error.status
        return (
            render_template(
                "errors/error.html", title=error.title, message=error.message, status=error.status
            ),
            error.status,
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        db.session.rollback()
        status = error.code or 500
        if wants_json():
            return {"error": error.name, "message": error.description}, status
        titles = {
            403: "You do not have permission to see this page",
            404: "Page not found",
            405: "This action is not allowed here",
            429: "Too many requests",
        }
        messages = {
            400: "The request could not be understood. If you were submitting a form, go back,"
            " reload the page and try again.",
            403: "Sign in with an account that has access, or ask your institution's secretary.",
            404: "If you typed the web address, check it is correct.",
            429: "You have made too many requests. Wait a few minutes and try again.",
        }
        return (
            render_template(
                "errors/error.html",
                title=titles.get(status, error.name),
                message=messages.get(status, error.description),
                status=status,
            ),
            status,
        )

    @app.errorhandler(500)
    def server_error(error: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if wants_json():
            return {"error": "Internal Server Error", "message": "Something went wrong."}, 500
        return (
            render_template(
                "errors/error.html",
                title="Sorry, there is a problem with the service",
                message="Nothing you submitted was saved. Try again later.",
                status=500,
            ),
            500,
        )
