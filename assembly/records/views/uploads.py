"""Uploaded files the verify page and the features' record pages take: a record, a
signature, a receipt or a roll proof, each a JSON object."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import FileStorage

__all__ = ["SMALL_FILE_LIMIT", "UploadProblem", "file_size", "has_file", "read_json_upload"]

#: The largest signature or receipt file taken: each is a few hundred bytes.
SMALL_FILE_LIMIT = 64 * 1024


class UploadProblem(ValueError):
    """An uploaded file that cannot be used; the message says why, for the form."""


def has_file(upload: Any) -> bool:
    """Whether a form's file field holds a chosen file."""
    return isinstance(upload, FileStorage) and bool(upload.filename)


def read_json_upload(upload: FileStorage, what: str, limit: int | None) -> dict[str, Any]:
    """The JSON object in an uploaded file.

    :param what: the file as the person knows it ("signature file").
    :param limit: the most bytes taken, or None for the request's own limit.
    :raises UploadProblem: too big, not UTF-8 JSON, or not a JSON object.
    """
    data = upload.stream.read() if limit is None else upload.stream.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise UploadProblem(
            f"The {what} is larger than {limit // 1024} KB, so it is not the right file: "
            f"choose the {what} itself"
        )
    if not data.strip():
        raise UploadProblem(f"The {what} is empty")
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise UploadProblem(
            f"The {what} is not JSON: choose the file as it was written, unchanged"
        ) from None
    if not isinstance(value, dict):
        raise UploadProblem(f"The {what} holds JSON, but not an object: it is not the right file")
    return value


def file_size(limit: int) -> str:
    """A size limit in words for a page: "64 KB", "50 MB"."""
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
