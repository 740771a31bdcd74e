"""``assembly demo``: a demo school and a demo hospital with a few hundred members.

Idempotent: a second run adds nothing and prints fresh sign-in links. The names come from a
seeded generator so that every run builds the same demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import click
from sqlalchemy import func, select

from assembly.audit.operations import record_event
from assembly.auth.actors import CLI
from assembly.auth.models import Role
from assembly.auth.operations import ensure_user, grant_role, issue_sign_in_link
from assembly.auth.permissions import roles_in
from assembly.extensions import db
from assembly.membership.models import Institution, InstitutionKind, Membership, Person
from assembly.membership.operations import create_institution, enrol_person
from assembly.membership.queries import get_constituency, get_institution

ADMIN = "admin@example.org"
SECRETARY = "secretary@example.org"
RETURNING_OFFICER = "returning.officer@example.org"
MEMBER = "member@example.org"

GIVEN = [
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Eilidh",
    "Farah",
    "George",
    "Hana",
    "Isaac",
    "Jade",
    "Kofi",
    "Lena",
    "Mohammed",
    "Niamh",
    "Oliver",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
    "Zara",
    "Aled",
    "Bronwen",
    "Callum",
    "Deborah",
    "Emeka",
]
FAMILY = [
    "Adeyemi",
    "Brown",
    "Campbell",
    "Davies",
    "Evans",
    "Fraser",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Murphy",
    "Nowak",
    "O'Brien",
    "Patel",
    "Quigley",
    "Roberts",
    "Singh",
    "Taylor",
    "Uddin",
    "Varga",
    "Williams",
    "Xu",
    "Young",
    "Zielinski",
]


@dataclass(frozen=True)
class DemoInstitution:
    slug: str
    name: str
    kind: InstitutionKind
    area: str
    #: Members per constituency: workers, users, community.
    sizes: tuple[int, int, int]
    domain: str


DEMO_INSTITUTIONS = (
    DemoInstitution(
        "hilltop-academy",
        "Hilltop Academy",
        InstitutionKind.school,
        "Hilltop, Bristol",
        (60, 140, 80),
        "hilltop.example",
    ),
    DemoInstitution(
        "riverside-hospital",
        "Riverside General Hospital",
        InstitutionKind.hospital,
        "Riverside, Leeds",
        (120, 90, 70),
        "riverside.example",
    ),
)


def _people(spec: DemoInstitution, rng: random.Random, count: int, key: str) -> list[Person]:
    people = []
    for index in range(count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        pupil = key == "users" and spec.kind == InstitutionKind.school
        age = rng.randint(11, 18) if pupil else rng.randint(19, 80)
        has_email = rng.random() > 0.1  # one in ten has no address and gets letters
        people.append(
            Person(
                given_name=given,
                family_name=family,
                email=(
                    f"{given}.{family}.{key}{index}@{spec.domain}".lower().replace("'", "")
                    if has_email
                    else None
                ),
                date_of_birth=date(2026, 6, 1) - timedelta(days=365 * age + rng.randint(0, 364)),
                postcode=f"{spec.area[:2].upper()}{rng.randint(1, 9)} {rng.randint(1, 9)}AB",
            )
        )
    return people


def _seed_institution(spec: DemoInstitution) -> tuple[Institution, bool]:
    institution = get_institution(spec.slug)
    created = institution is None
    if institution is None:
        institution = create_institution(
            CLI, slug=spec.slug, name=spec.name, kind=spec.kind, area=spec.area
        )
    has_members = db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.institution_id == institution.id)
    )
    if has_members:
        return institution, created
    rng = random.Random(spec.slug)  # noqa: S311 - demo names, not a security or counting draw
    counts: dict[str, int] = {}
    for key, size in zip(("workers", "users", "community"), spec.sizes, strict=True):
        constituency = get_constituency(institution, key)
        assert constituency is not None
        for person in _people(spec, rng, size, key):
            enrol_person(CLI, constituency, person, source="demo", audit=False)
        counts[key] = size
    record_event(CLI, "demo.members_seeded", institution=institution, data=counts)
    return institution, True


def _seed_member(institutions: list[Institution]) -> None:
    """The demo member belongs to both: a parent at the school, a patient at the hospital."""
    existing = db.session.scalars(select(Person).where(Person.email == MEMBER)).first()
    if existing is not None:
        return
    person = Person(
        given_name="Alex",
        family_name="Morgan",
        email=MEMBER,
        date_of_birth=date(1985, 3, 14),
        postcode="BS1 4AB",
    )
    db.session.add(person)
    db.session.flush()
    for institution in institutions:
        constituency = get_constituency(institution, "users")
        assert constituency is not None
        enrol_person(CLI, constituency, person, source="demo")


def _grant_once(institution: Institution, email: str, role: Role, name: str) -> None:
    user = ensure_user(CLI, email, name)
    if role not in roles_in(user, institution):
        grant_role(CLI, institution, email, role, display_name=name)


def seed_demo() -> bool:
    """Build the demo if it is not there; return whether anything was added."""
    changed = False
    institutions = []
    for spec in DEMO_INSTITUTIONS:
        institution, added = _seed_institution(spec)
        institutions.append(institution)
        changed |= added
    admin = ensure_user(CLI, ADMIN, "Platform Admin")
    if not admin.is_platform_admin:
        admin.is_platform_admin = True
        record_event(CLI, "user.made_admin", subject=admin, data={"email": ADMIN})
        changed = True
    for institution in institutions:
        _grant_once(institution, SECRETARY, Role.secretary, "Sam Secretary")
        _grant_once(institution, RETURNING_OFFICER, Role.returning_officer, "Robin Officer")
    _seed_member(institutions)
    changed |= _seed_election(institutions[0])
    changed |= _seed_assembly(institutions[1])
    return changed


def _seed_assembly(institution: Institution) -> bool:
    """The hospital's annual assembly in a month, its notice sent (so members can apply to
    stand, and the returning officer can register their key)."""
    from datetime import timedelta

    from sqlalchemy import select

    from assembly.assemblies.models import Assembly
    from assembly.assemblies.operations import schedule_assembly, send_notice
    from assembly.auth.models import User
    from assembly.clock import today

    if db.session.scalars(
        select(Assembly).where(Assembly.institution_id == institution.id)
    ).first():
        return False
    officer = db.session.scalars(select(User).where(User.email == RETURNING_OFFICER)).one()
    assembly = schedule_assembly(
        CLI,
        institution,
        title=f"Annual assembly {(today() + timedelta(days=30)).year}",
        held_on=today() + timedelta(days=30),
        starts_at="18:30",
        venue="The Education Centre, main hospital site",
        agenda="1. Welcome\n2. The year in review\n3. Election of the chief executive",
        returning_officer_id=officer.id,
        today=today(),
    )
    send_notice(CLI, assembly, today())
    return True


def _seed_election(institution: Institution) -> bool:
    """A draft board election at the school, waiting for the demo returning officer to approve
    it (so the set-up, approval and timetable pages have something to show)."""
    from datetime import timedelta

    from sqlalchemy import select

    from assembly.auth.models import User
    from assembly.clock import today
    from assembly.elections.models import CountMethod, Election
    from assembly.elections.operations import ElectionSettings, create_election, timetable_rules
    from assembly.elections.timetable import suggest_timetable

    if db.session.scalars(
        select(Election).where(Election.institution_id == institution.id)
    ).first():
        return False
    officer = db.session.scalars(select(User).where(User.email == RETURNING_OFFICER)).one()
    create_election(
        CLI,
        institution,
        ElectionSettings(
            title=f"Election of governors {today().year + 1}",
            seats=9,
            apportionment="largest-remainder",
            weights={c.key: c.weight for c in institution.constituencies},
            methods={c.key: CountMethod.stv for c in institution.constituencies},
            timetable=suggest_timetable(
                today() + timedelta(weeks=12), timetable_rules(institution)
            ),
            returning_officer_id=officer.id,
        ),
    )
    return True


@click.command("demo")
@click.option("--links/--no-links", default=True, help="Print sign-in links.")
def demo_command(links: bool) -> None:
    """Seed a demo school and hospital (idempotent) and print sign-in links."""
    changed = seed_demo()
    db.session.commit()
    click.echo(
        "demo: seeded Hilltop Academy and Riverside General Hospital"
        if changed
        else "demo: already seeded; nothing added"
    )
    if not links:
        return
    click.echo("\nSign-in links (each works once, for 15 minutes; run `make links` for more):")
    for label, email in (
        ("secretary", SECRETARY),
        ("returning officer", RETURNING_OFFICER),
        ("member", MEMBER),
        ("platform admin", ADMIN),
    ):
        url = issue_sign_in_link(CLI, email)
        click.echo(f"  {label:<18} {email:<32} {url}")
    db.session.commit()
