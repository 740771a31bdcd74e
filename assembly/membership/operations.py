"""Create and change institutions and their constituencies; enrol members one at a time."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from typing import BinaryIO

from sqlalchemy import func, select

from assembly.audit.operations import record_event
from assembly.auth.actors import Actor, SystemActor, actor_label
from assembly.auth.permissions import can_manage
from assembly.clock import today
from assembly.errors import (
    Conflict,
    InvalidTransition,
    NotEligible,
    RosterError,
    RuleViolation,
)
from assembly.extensions import db
from assembly.membership.imports import (
    ImportPlan,
    RosterFile,
    RosterReader,
    RosterRefused,
    RosterRow,
    apply_import,
    eligibility_problem,
    open_roster,
    plan_import,
    record_run,
)
from assembly.membership.models import (
    DEFAULT_CONSTITUENCIES,
    DEFAULT_LEADER_TITLES,
    Constituency,
    ImportRun,
    ImportStatus,
    Institution,
    InstitutionKind,
    Membership,
    Person,
    RosterKind,
    RosterSource,
)
from assembly.membership.queries import has_current_membership
from assembly.records.canonical import rational

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
#: Slugs that would collide with pages of the service itself.
RESERVED_SLUGS = frozenset({"new", "admin", "api", "static", "sign-in", "sign-out", "my"})


def parse_weight(raw: str) -> Fraction:
    """Read a weight written as ``1/3``, ``0.25`` or ``2``; it must be positive and exact.

    :raises RuleViolation: it is not a number, or is zero or negative.
    """
    text = raw.strip()
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise RuleViolation(
            f"Enter the weight as a fraction like 1/3, a decimal like 0.25, or a whole number,"
            f" not {raw!r}"
        ) from None
    if value <= 0:
        raise RuleViolation("The weight must be more than 0")
    if value.denominator > 1_000_000 or value.numerator > 1_000_000:
        raise RuleViolation("The weight is too precise: use a simpler fraction, like 1/3")
    return value


def _check_slug(slug: str) -> None:
    if not SLUG_PATTERN.match(slug) or slug in RESERVED_SLUGS:
        raise RuleViolation(
            "The short name must be 1 to 63 lower-case letters, digits or hyphens, must not"
            " start or end with a hyphen, and must not be a reserved word"
        )


def create_institution(
    actor: Actor,
    *,
    slug: str,
    name: str,
    kind: InstitutionKind,
    area: str = "",
    leader_title: str = "",
) -> Institution:
    """Create an institution with its three default constituencies, one third each.

    :raises NotEligible: the actor is not a platform admin.
    :raises RuleViolation: a bad short name or an empty name.
    :raises Conflict: the short name is taken.
    """
    if not actor.is_platform_admin:
        raise NotEligible("Only a platform admin can create an institution.")
    slug = slug.strip().lower()
    _check_slug(slug)
    name = name.strip()
    if not name:
        raise RuleViolation("Enter the institution's name")
    if db.session.scalar(select(func.count()).where(Institution.slug == slug)):
        raise Conflict(f"An institution with the short name {slug!r} already exists")
    kind = InstitutionKind(kind)
    institution = Institution(
        slug=slug,
        name=name,
        kind=kind,
        area=area.strip(),
        leader_title=leader_title.strip() or DEFAULT_LEADER_TITLES[kind],
    )
    db.session.add(institution)
    db.session.flush()
    for key, constituency_name, weight, precedence in DEFAULT_CONSTITUENCIES:
        constituency = Constituency(
            institution_id=institution.id,
            key=key,
            name=constituency_name,
            precedence=precedence,
            minimum_age=0,
        )
        constituency.weight = weight
        db.session.add(constituency)
    db.session.flush()
    record_event(
        actor,
        "institution.created",
        institution=institution,
        subject=institution,
        data={
            "slug": slug,
            "name": name,
            "kind": kind.value,
            "area": institution.area,
            "leader_title": institution.leader_title,
            "constituencies": [k for k, *_ in DEFAULT_CONSTITUENCIES],
        },
    )
    return institution


def update_institution(
    actor: Actor, institution: Institution, *, name: str, area: str, leader_title: str
) -> None:
    """Change an institution's name, area and leader title."""
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can change its details.")
    name, area, leader_title = name.strip(), area.strip(), leader_title.strip()
    if not name:
        raise RuleViolation("Enter the institution's name")
    if not leader_title:
        raise RuleViolation("Enter the leader's title, for example Headteacher")
    before = {
        "name": institution.name,
        "area": institution.area,
        "leader_title": institution.leader_title,
    }
    after = {"name": name, "area": area, "leader_title": leader_title}
    if before == after:
        return
    institution.name, institution.area, institution.leader_title = name, area, leader_title
    db.session.flush()
    record_event(
        actor,
        "institution.updated",
        institution=institution,
        subject=institution,
        data={"before": before, "after": after},
    )


def _constituency_fields(constituency: Constituency) -> dict[str, object]:
    return {
        "key": constituency.key,
        "name": constituency.name,
        "weight": rational(constituency.weight),
        "minimum_age": constituency.minimum_age,
        "precedence": constituency.precedence,
    }


def _check_constituency_values(name: str, minimum_age: int, precedence: int) -> None:
    if not name.strip():
        raise RuleViolation("Enter the constituency's name")
    if not 0 <= minimum_age <= 120:
        raise RuleViolation("The minimum age must be between 0 and 120")
    if not 1 <= precedence <= 1000:
        raise RuleViolation("The precedence must be a whole number from 1 to 1000")


def _check_precedence_free(
    institution: Institution, precedence: int, ignore: Constituency | None = None
) -> None:
    for other in institution.constituencies:
        if other is not ignore and other.precedence == precedence:
            raise Conflict(
                f"{other.name} already has precedence {precedence}; each constituency needs its"
                " own, so that a person listed in two is placed in exactly one"
            )


def update_constituency(
    actor: Actor,
    constituency: Constituency,
    *,
    name: str,
    weight: Fraction,
    minimum_age: int,
    precedence: int,
) -> None:
    """Change a constituency's name, board-seat weight, minimum age and precedence."""
    institution = constituency.institution
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can change its constituencies.")
    _check_constituency_values(name, minimum_age, precedence)
    if weight <= 0:
        raise RuleViolation("The weight must be more than 0")
    _check_precedence_free(institution, precedence, ignore=constituency)
    before = _constituency_fields(constituency)
    constituency.name = name.strip()
    constituency.weight = weight
    constituency.minimum_age = minimum_age
    constituency.precedence = precedence
    after = _constituency_fields(constituency)
    if before == after:
        return
    db.session.flush()
    record_event(
        actor,
        "constituency.updated",
        institution=institution,
        subject=constituency,
        data={"before": before, "after": after},
    )


def add_constituency(
    actor: Actor,
    institution: Institution,
    *,
    key: str,
    name: str,
    weight: Fraction,
    minimum_age: int,
    precedence: int,
) -> Constituency:
    """Add a custom constituency (a staff class, say) to an institution."""
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can add constituencies.")
    key = key.strip().lower()
    if not KEY_PATTERN.match(key):
        raise RuleViolation(
            "The key must start with a letter and use only lower-case letters, digits,"
            " hyphens and underscores (at most 40)"
        )
    if any(c.key == key for c in institution.constituencies):
        raise Conflict(f"{institution.name} already has a constituency with the key {key!r}")
    _check_constituency_values(name, minimum_age, precedence)
    _check_precedence_free(institution, precedence)
    constituency = Constituency(
        institution_id=institution.id,
        key=key,
        name=name.strip(),
        minimum_age=minimum_age,
        precedence=precedence,
    )
    constituency.weight = weight
    db.session.add(constituency)
    db.session.flush()
    db.session.refresh(institution, ["constituencies"])
    record_event(
        actor,
        "constituency.added",
        institution=institution,
        subject=constituency,
        data=_constituency_fields(constituency),
    )
    return constituency


def enrol_person(
    actor: Actor,
    constituency: Constituency,
    person: Person,
    *,
    source: str,
    joined_on: date | None = None,
    audit: bool = True,
) -> Membership:
    """Start a membership of ``person`` in ``constituency`` (one at a time; rosters come later).

    :raises Conflict: the person is already a current member of the institution.
    """
    institution = constituency.institution
    if not can_manage(actor, institution):
        raise NotEligible("Only the institution's secretary can enrol members.")
    if person.id is not None:
        if has_current_membership(institution.id, person.id):
            raise Conflict(f"{person.full_name} is already a member of {institution.name}")
    else:
        db.session.add(person)
        db.session.flush()
    membership = Membership(
        institution_id=institution.id,
        person_id=person.id,
        constituency_id=constituency.id,
        joined_on=joined_on or today(),
        source=source,
    )
    db.session.add(membership)
    db.session.flush()
    if audit:
        record_event(
            actor,
            "membership.started",
            institution=institution,
            subject=membership,
            data={"person_id": person.id, "constituency": constituency.key, "source": source},
        )
    return membership


def opt_out(actor: Actor, membership: Membership, *, on: date | None = None) -> None:
    """End a membership at the member's wish; later imports will not enrol them again.

    :raises InvalidTransition: the membership has already ended.
    """
    if not membership.is_current:
        raise InvalidTransition("This membership has already ended.")
    day = on or today()
    membership.opted_out_on = day
    membership.left_on = day
    db.session.flush()
    record_event(
        actor,
        "membership.opted_out",
        institution=membership.institution,
        subject=membership,
        data={"person_id": membership.person_id},
    )


#: The kind of roster each default constituency is usually fed by.
_DEFAULT_KINDS = {"workers": "hr", "users": "other", "community": "community_signup"}


def _ensure_source(
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
    return _ensure_source(
        actor,
        constituency,
        key=f"{constituency.key}-csv",
        name=f"{constituency.name} (CSV upload)",
        kind=RosterKind(kind),
    )


def _open(actor: Actor, source: RosterSource, handle: BinaryIO) -> tuple[RosterReader, RosterFile]:
    """Check the actor may import; open the file and read its header with the source's mapping.

    :raises NotEligible: the actor is not the institution's secretary.
    :raises RosterFileError: the file cannot be read at all (size, encoding, header).
    """
    if not can_manage(actor, source.institution):
        raise NotEligible("Only the institution's secretary can import rosters.")
    opened = open_roster(handle)
    return RosterReader(opened.text, json.loads(source.column_mapping or "{}")), opened


def import_roster(
    actor: Actor,
    source: RosterSource,
    roster: BinaryIO | bytes,
    *,
    mode: str = "snapshot",
    file_name: str = "",
    effective_on: date | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[ImportPlan, ImportRun | None]:
    """Read a roster file a chunk at a time and apply it (or, ``dry_run``, only plan it).

    :param progress: told the line reached after each chunk.
    :raises NotEligible: the actor is not the institution's secretary.
    :raises RosterFileError: the file cannot be read at all (encoding, size, header).
    :raises RosterRefused: rows are invalid (the plan lists them); roll back.
    """
    handle = io.BytesIO(roster) if isinstance(roster, bytes) else roster
    reader, opened = _open(actor, source, handle)
    day = effective_on or today()
    try:
        if dry_run:
            plan = plan_import(source, reader, mode=mode, effective_on=day, progress=progress)
            if plan.is_refused:
                raise RosterRefused(plan)
            return plan, None
        return apply_import(
            actor,
            source,
            reader,
            mode=mode,
            effective_on=day,
            file_name=file_name,
            file_sha256=opened.sha256,
            progress=progress,
        )
    finally:
        opened.text.detach()  # the caller owns the file


def upload_path(upload_dir: str, run_id: int) -> str:
    """Where an uploaded roster is kept between its preview and its confirmation."""
    return os.path.join(upload_dir, f"{run_id}.csv")


def receive_roster(
    actor: Actor,
    source: RosterSource,
    handle: BinaryIO,
    *,
    mode: str,
    file_name: str,
    upload_dir: str,
    effective_on: date | None = None,
) -> ImportRun:
    """Keep an uploaded roster to be checked (``check_roster``); change no member.

    The file itself and its header are checked now, so an unusable file is refused at once.

    :raises NotEligible: the actor is not the institution's secretary.
    :raises RosterFileError: the file cannot be read at all.
    """
    if mode not in {"snapshot", "delta"}:
        raise RosterError("The import mode must be snapshot or delta.")
    _, opened = _open(actor, source, handle)
    opened.text.detach()
    run = ImportRun(
        source_id=source.id,
        mode=mode,
        status=ImportStatus.checking,
        actor_label=actor_label(actor),
        file_name=file_name,
        file_sha256=opened.sha256,
        effective_on=effective_on or today(),
        lines_total=opened.lines,
    )
    db.session.add(run)
    db.session.flush()
    os.makedirs(upload_dir, exist_ok=True)
    handle.seek(0)
    with open(upload_path(upload_dir, run.id), "wb") as kept:
        shutil.copyfileobj(handle, kept, 1 << 20)
    return run


def _kept(actor: Actor, run: ImportRun, upload_dir: str) -> tuple[RosterReader, RosterFile]:
    try:
        handle = open(upload_path(upload_dir, run.id), "rb")  # noqa: SIM115 (closed by caller)
    except OSError:
        raise RosterError("The uploaded file is no longer kept. Upload it again.") from None
    return _open(actor, run.source, handle)


def check_roster(
    actor: Actor,
    run: ImportRun,
    *,
    upload_dir: str,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Plan a kept upload: the run becomes a preview waiting for confirmation, or refused.

    :raises InvalidTransition: the run is not waiting to be checked.
    """
    if run.status != ImportStatus.checking:
        raise InvalidTransition("This upload has already been checked.")
    reader, opened = _kept(actor, run, upload_dir)
    try:
        plan = plan_import(
            run.source, reader, mode=run.mode, effective_on=run.effective_on, progress=progress
        )
    finally:
        opened.text.close()
    record_run(
        actor, plan, ImportStatus.refused if plan.is_refused else ImportStatus.previewed, run=run
    )
    return plan


def confirm_roster(actor: Actor, run: ImportRun) -> None:
    """Confirm a previewed upload: it is applied next (``apply_roster``).

    :raises NotEligible: the actor is not the institution's secretary.
    :raises InvalidTransition: the run is not a preview waiting for confirmation.
    """
    if not can_manage(actor, run.source.institution):
        raise NotEligible("Only the institution's secretary can import rosters.")
    if run.status != ImportStatus.previewed:
        raise InvalidTransition("This import has already been applied or refused.")
    run.status = ImportStatus.applying
    db.session.flush()


def apply_roster(
    actor: Actor,
    run: ImportRun,
    *,
    upload_dir: str,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Apply a confirmed upload, planned afresh against the members as they are now.

    :raises InvalidTransition: the run was not confirmed.
    :raises RosterError: the kept file is gone.
    :raises RosterRefused: its rows no longer import (roll back, then ``refuse_run``).
    """
    if run.status != ImportStatus.applying:
        raise InvalidTransition("This import was not confirmed.")
    reader, opened = _kept(actor, run, upload_dir)
    try:
        plan, _ = apply_import(
            actor,
            run.source,
            reader,
            mode=run.mode,
            effective_on=run.effective_on,
            run=run,
            progress=progress,
        )
    finally:
        opened.text.close()
    return plan


def refuse_run(actor: Actor, run: ImportRun, plan: ImportPlan) -> None:
    """Record that a confirmed upload was refused when applied (after the rollback)."""
    record_run(actor, plan, ImportStatus.refused, run=run)


def fail_run(run: ImportRun, reason: str) -> None:
    """Record that an import stopped before it finished; nothing of it was applied."""
    run.status = ImportStatus.failed
    run.error = reason[:2000]
    db.session.flush()


def opt_in(actor: Actor, membership: Membership, *, on: date | None = None) -> Membership:
    """Start a new membership for someone who opted out, at their own request.

    :raises NotEligible: the actor is not the member (their email address differs).
    :raises InvalidTransition: the membership was not opted out, or they are a member again.
    """
    person = membership.person
    if not person.email or getattr(actor, "email", None) != person.email:
        raise NotEligible("Only the member can ask to become a member again.")
    if membership.opted_out_on is None:
        raise InvalidTransition("This membership was not ended by opting out.")
    if has_current_membership(membership.institution_id, person.id):
        raise InvalidTransition(f"You are already a member of {membership.institution.name}.")
    again = Membership(
        institution_id=membership.institution_id,
        person_id=person.id,
        constituency_id=membership.constituency_id,
        joined_on=on or today(),
        source="opt-in",
    )
    db.session.add(again)
    db.session.flush()
    record_event(
        actor,
        "membership.opted_in",
        institution=membership.institution,
        subject=again,
        data={"person_id": person.id, "after": membership.id},
    )
    return again


SIGNUP_SOURCE = "community-signup"


def _community(institution: Institution) -> Constituency:
    community = next((c for c in institution.constituencies if c.key == "community"), None)
    if community is None:
        raise InvalidTransition(f"{institution.name} has no local community constituency.")
    return community


def check_signup(institution: Institution, row: RosterRow) -> str | None:
    """Return why a resident cannot join the community constituency, or None if they can."""
    return eligibility_problem(row, _community(institution), today())


def join_community(institution: Institution, row: RosterRow) -> ImportPlan:
    """Enrol a resident who confirmed their email address in the community constituency.

    Uses the same rules as roster imports: matching, precedence, eligibility, opt-outs.
    """
    actor = SystemActor(f"sign-up: {row.email}")
    source = _ensure_source(
        actor,
        _community(institution),
        key=SIGNUP_SOURCE,
        name="Community sign-up",
        kind=RosterKind.community_signup,
    )
    plan = plan_import(source, [row], mode="delta", effective_on=today())
    if plan.has_changes:
        plan, _ = apply_import(
            actor, source, [row], mode="delta", effective_on=today(), file_name="sign-up"
        )
    return plan


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
