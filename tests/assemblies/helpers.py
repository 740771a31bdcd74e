"""Assemblies for tests: an institution with members, scheduled, noticed, candidates
decided and published, and opened on its day, all through the real operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from assembly.assemblies.models import Assembly, AssemblyCandidate, Attendance
from assembly.assemblies.operations import (
    apply_to_stand,
    check_in,
    decide_application,
    open_assembly,
    publish_candidates,
    save_rules,
    schedule_assembly,
    send_notice,
)
from assembly.assemblies.record import register_assembly_officer_key
from assembly.auth.actors import SYSTEM
from assembly.auth.models import Role, User
from assembly.extensions import db
from assembly.membership.models import Institution, Membership
from tests.conftest import grant, make_institution, make_member, make_user
from tests.elections.polls import OFFICER_PUBLIC_KEY

#: The day the tests schedule on, and the day of the assembly: 20 days later.
SCHEDULED_ON = date(2027, 5, 3)
HELD_ON = SCHEDULED_ON + timedelta(days=20)
KEYS = ("workers", "users", "community")


@dataclass
class Room:
    institution: Institution
    assembly: Assembly
    secretary: User
    teller: User
    officer: User
    #: constituency key → its members, in the order made
    members: dict[str, list[Membership]] = field(default_factory=dict)
    candidates: list[AssemblyCandidate] = field(default_factory=list)

    def everyone(self) -> list[Membership]:
        return [m for key in KEYS for m in self.members[key]]

    def check_in(self, membership: Membership) -> Attendance:
        attendance = check_in(self.teller, self.assembly, membership.person)
        db.session.commit()
        return attendance


def rules(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "term_months": 12,
        "notice_days": 14,
        "quorum_members": 0,
        "quorum_share": Fraction(0),
        "quorum_per_constituency": 0,
        "method": "irv",
        "weighting": False,
        "late_arrivals_vote": True,
    }
    values.update(overrides)
    return values


def make_room(
    slug: str,
    *,
    per_constituency: int = 3,
    standing: int = 2,
    open_it: bool = True,
    **rule_values: Any,
) -> Room:
    """An assembly with ``per_constituency`` members in each constituency, the first
    ``standing`` workers standing (found valid and published), opened on its day."""
    institution = make_institution(slug=slug, name=slug.replace("-", " ").title())
    secretary = make_user(f"sec@{slug}.org", name="Sam Secretary")
    teller = make_user(f"teller@{slug}.org", name="Tess Teller")
    officer = make_user(f"ro@{slug}.org", name="Rita Officer")
    grant(secretary, institution, Role.secretary)
    grant(teller, institution, Role.teller)
    grant(officer, institution, Role.returning_officer)
    members = {
        key: [
            make_member(
                institution,
                key,
                email=f"{key}{i}@{slug}.org",
                given_name=f"{key.title()}{i}",
                family_name=f"Member{chr(65 + i)}",
                date_of_birth=date(1980, 1, 1 + i),
            )
            for i in range(per_constituency)
        ]
        for key in KEYS
    }
    save_rules(SYSTEM, institution, rules(**rule_values))
    assembly = schedule_assembly(
        secretary,
        institution,
        title="",
        held_on=HELD_ON,
        starts_at="18:30",
        venue="The main hall",
        agenda="1. Welcome\n2. Election of the leader",
        returning_officer_id=officer.id,
        today=SCHEDULED_ON,
    )
    send_notice(secretary, assembly, SCHEDULED_ON)
    candidates = []
    for membership in members["workers"][:standing]:
        person = membership.person
        candidate = apply_to_stand(
            _user(person.email),
            assembly,
            person,
            ballot_name=f"{person.given_name} {person.family_name}",
            statement="I will listen.",
            today=SCHEDULED_ON + timedelta(days=1),
        )
        decide_application(officer, candidate, valid=True)
        candidates.append(candidate)
    publish_candidates(secretary, assembly, assembly.applications_close_on + timedelta(days=1))
    register_assembly_officer_key(officer, assembly, OFFICER_PUBLIC_KEY)
    if open_it:
        open_assembly(secretary, assembly, HELD_ON)
    db.session.commit()
    return Room(institution, assembly, secretary, teller, officer, members, candidates)


def _user(email: str | None) -> User:
    assert email
    user = db.session.query(User).filter_by(email=email).first()
    return user if user is not None else make_user(email)


def run_ceremony(
    officer: User, assembly: Assembly, scrutineers: list[str], threshold: int
) -> list[int]:
    """The officer names the trustees of an end-to-end verifiable assembly; each trustee's
    browser (played by the pure core) registers, deals and confirms, as on the trustees'
    page. Returns the trustees' decryption secrets, in trustee order."""
    from assembly.assemblies import e2e
    from assembly.crypto.group import G, L, Point, random_scalar
    from assembly.crypto.trustees import deal, open_share, seal_share

    e2e.appoint(officer, assembly, scrutineers, threshold)
    db.session.commit()
    ceremony = assembly.ceremony
    assert ceremony is not None
    users = [db.session.get(User, t.user_id) for t in ceremony.trustees]
    transports = [random_scalar() for _ in users]
    for user, x in zip(users, transports, strict=True):
        e2e.register_transport_key(user, assembly, (G * x).hex())
    db.session.commit()
    label = ceremony.label
    keys = {t.number: Point.from_hex(t.transport_key) for t in ceremony.trustees}
    for number, user in enumerate(users, start=1):
        dealing = deal(label, number, threshold, len(users))
        e2e.post_dealing(
            user,
            assembly,
            {
                "number": number,
                "commitments": [c.hex() for c in dealing.commitments],
                "proof": dealing.proof.to_json(),
                "shares": [
                    {"to": to, **seal_share(label, number, to, keys[to], share)}
                    for to, share in enumerate(dealing.shares, start=1)
                ],
            },
        )
    db.session.commit()
    dealings = e2e.e2e.dealings_of(ceremony)
    secrets = []
    for number, (user, x) in enumerate(zip(users, transports, strict=True), start=1):
        secret = (
            sum(
                open_share(label, d["number"], number, x, d["shares"][number - 1]) for d in dealings
            )
            % L
        )
        e2e.confirm_key(user, assembly, (G * secret).hex())
        secrets.append(secret)
    db.session.commit()
    assert ceremony.election_key
    return secrets
