"""The writes one chunk of a roster needs, as planning finds them and writing makes them."""

from __future__ import annotations

from dataclasses import dataclass, field

from assembly.membership.imports.rows import RosterRow

__all__ = ["PERSON_FIELDS", "Changes", "person_values"]

#: A person's details that a roster sets, in the order ``lookups`` reads them.
PERSON_FIELDS = ("given_name", "family_name", "email", "date_of_birth", "postcode")


def person_values(row: RosterRow) -> dict[str, object]:
    """A person's details as ``row`` gives them."""
    return {
        "given_name": row.given_name,
        "family_name": row.family_name,
        "email": row.email,
        "date_of_birth": row.date_of_birth,
        "postcode": row.postcode,
    }


@dataclass
class Changes:
    """The writes one chunk of a roster needs (see ``writing.write_changes``)."""

    #: Rows that make a new person.
    new_people: list[RosterRow] = field(default_factory=list)
    #: (row, person id): rows newly tied to an existing person of another source.
    links: list[tuple[RosterRow, int]] = field(default_factory=list)
    #: (person id, new field values) for people whose details changed.
    updates: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    #: Person ids who start a membership in this constituency.
    joins: list[int] = field(default_factory=list)
    #: (membership id, person id): current memberships in another constituency to end and
    #: restart here (this constituency has precedence).
    moves: list[tuple[int, int]] = field(default_factory=list)
    #: (membership id, person id, constituency id to move to or None): people who leave.
    leaves: list[tuple[int, int, int | None]] = field(default_factory=list)
    #: Source records to mark present again, and absent (leavers).
    present_again: list[int] = field(default_factory=list)
    absent: list[int] = field(default_factory=list)

    def size(self) -> int:
        return (
            len(self.new_people)
            + len(self.links)
            + len(self.updates)
            + len(self.joins)
            + len(self.moves)
            + len(self.leaves)
            + len(self.present_again)
            + len(self.absent)
        )
