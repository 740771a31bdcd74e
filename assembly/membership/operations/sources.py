"""Roster sources: each constituency's source for uploads and pushes, made on first use, and
the column mapping that says which column of a source's CSV files holds each field."""

from __future__ import annotations

import json

from sqlalchemy import select

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor
from assembly.auth.permissions import can_manage
from assembly.errors import NotEligible, RuleViolation
from assembly.extensions import db
from assembly.membership.models import Constituency, InstitutionKind, RosterKind, RosterSource

__all__ = [
    "COLUMN_LABELS",
    "MAX_COLUMN_HEADER",
    "ColumnMappingError",
    "clean_column_mapping",
    "ensure_csv_source",
    "ensure_source",
    "update_column_mapping",
]

#: The kind of roster each default constituency is usually fed by.
_DEFAULT_KINDS = {"workers": "hr", "users": "other", "community": "community_signup"}


def ensure_source(
    actor: Actor, constituency: Constituency, *, key: str, name: str, kind: RosterKind
) -> RosterSource:
    """Return the institution's roster source ``key``, making it (audited) on first use."""
    institution = constituency.institution
    source = db.session.scalars(
        select(RosterSource).where(
            RosterSource.institution_id == institution.id, RosterSource.key == key
        )
    ).first()
    if source is None:
        source = RosterSource(
            institution_id=institution.id,
            constituency_id=constituency.id,
            key=key,
            name=name,
            kind=kind,
        )
        db.session.add(source)
        db.session.flush()
        record_event(
            actor,
            "roster_source.created",
            institution=institution,
            subject=source,
            data={"key": key, "constituency": constituency.key},
        )
    return source


def ensure_csv_source(actor: Actor, constituency: Constituency) -> RosterSource:
    """Return the constituency's CSV-upload roster source, making it on first use."""
    if not can_manage(actor, constituency.institution):
        raise NotEligible("Only the institution's secretary can import rosters.")
    kind = _DEFAULT_KINDS.get(constituency.key, "other")
    if constituency.key == "users":
        school = constituency.institution.kind == InstitutionKind.school
        kind = "pupil_register" if school else "patient_register"
    return ensure_source(
        actor,
        constituency,
        key=f"{constituency.key}-csv",
        name=f"{constituency.name} (CSV upload)",
        kind=RosterKind(kind),
    )


#: The roster fields as a secretary knows them, in the default header's order (``FIELDS``).
COLUMN_LABELS = {
    "external_id": "External id",
    "given_name": "First name",
    "family_name": "Last name",
    "email": "Email address",
    "date_of_birth": "Date of birth",
    "postcode": "Postcode",
}
#: The longest column header a column mapping accepts.
MAX_COLUMN_HEADER = 100


class ColumnMappingError(RuleViolation):
    """A column mapping the rules refuse; ``problems`` says, field by field, what to correct."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(". ".join(problems.values()))
        self.problems = problems


def _is_control(character: str) -> bool:
    # C0 (line breaks, tab, NUL), DEL and C1: none can be part of a header a person typed.
    code = ord(character)
    return code < 32 or 127 <= code < 160


def clean_column_mapping(mapping: dict[str, str]) -> dict[str, str]:
    """Return the non-default entries of a field → column header mapping, trimmed.

    A blank header, or the field's own name in any case, means the default column.

    :raises RuleViolation: a field that rosters do not have.
    :raises ColumnMappingError: a header longer than 100 characters, one with a line break or
        another control character, or two fields in the same column (compared as the import
        does: trimmed and ignoring case).
    """
    unknown = sorted(set(mapping) - set(COLUMN_LABELS))
    if unknown:
        raise RuleViolation(f"Rosters have no field called {unknown[0]!r}")
    problems: dict[str, str] = {}
    headers: dict[str, str] = {}
    for field, label in COLUMN_LABELS.items():
        header = (mapping.get(field) or "").strip()
        if len(header) > MAX_COLUMN_HEADER:
            problems[field] = (
                f"Column header for {label.lower()} must be {MAX_COLUMN_HEADER} characters or fewer"
            )
        elif any(_is_control(character) for character in header):
            problems[field] = (
                f"Column header for {label.lower()} must not contain line breaks, tabs or other"
                " control characters"
            )
        headers[field] = header or field
    sharing: dict[str, list[str]] = {}
    for field, header in headers.items():
        if field not in problems:
            sharing.setdefault(header.lower(), []).append(field)
    for fields in sharing.values():
        # The field left at its default keeps the column; the error goes beside the one typed.
        keeper = next((f for f in fields if headers[f].lower() == f), fields[0])
        for field in fields:
            if field != keeper:
                label, other = COLUMN_LABELS[field], COLUMN_LABELS[keeper].lower()
                problems[field] = (
                    f"{label} and {other} cannot both be in the column '{headers[field]}':"
                    f" enter the column header that holds the {label.lower()}"
                )
    if problems:
        raise ColumnMappingError(problems)
    return {field: header for field, header in headers.items() if header.lower() != field}


def update_column_mapping(actor: Actor, source: RosterSource, mapping: dict[str, str]) -> None:
    """Set which column of a CSV roster holds each field, for one roster source.

    Only headers that differ from the default are stored: ``{"external_id": "Staff number"}``.

    :param mapping: field → column header; a blank or missing header means the default.
    :raises NotEligible: the actor is not the institution's secretary.
    :raises ColumnMappingError: see ``clean_column_mapping``; nothing is changed.
    """
    if not can_manage(actor, source.institution):
        raise NotEligible("Only the institution's secretary can change a roster source's columns.")
    after = clean_column_mapping(mapping)
    before = json.loads(source.column_mapping or "{}")
    if before == after:
        return
    source.column_mapping = json.dumps(after)
    db.session.flush()
    record_event(
        actor,
        "roster_source.mapping_changed",
        institution=source.institution,
        subject=source,
        data={"before": before, "after": after},
    )
