"""The institution's standing rules for its annual assembly, and the dates they give."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from assembly.assemblies.models import (
    Assembly,
    AssemblyRules,
)
from assembly.audit.operations import Ref, record_event
from assembly.auth.actors import Actor
from assembly.errors import RuleViolation
from assembly.extensions import db
from assembly.membership.models import Institution


def rules_for(institution: Institution) -> AssemblyRules:
    """The institution's assembly rules: saved ones, or the defaults (not saved)."""
    rules = db.session.get(AssemblyRules, institution.id)
    if rules is None:
        rules = AssemblyRules(
            institution_id=institution.id,
            term_months=12,
            notice_days=14,
            quorum_members=0,
            quorum_share_numerator=0,
            quorum_share_denominator=1,
            quorum_per_constituency=0,
            method="irv",
            weighting=False,
            late_arrivals_vote=True,
        )
    return rules


def save_rules(actor: Actor, institution: Institution, values: dict[str, Any]) -> AssemblyRules:
    """Save the institution's assembly rules (assemblies already scheduled keep theirs)."""
    term = int(values["term_months"])
    if not 1 <= term <= 60:
        raise RuleViolation("A leader's term is between 1 and 60 months.")
    if int(values["notice_days"]) < 0:
        raise RuleViolation("The notice period cannot be negative.")
    share = Fraction(values["quorum_share"])
    if not 0 <= share <= 1:
        raise RuleViolation("The quorum share is between 0 and 1 (for example 1/10).")
    if int(values["quorum_members"]) < 0 or int(values["quorum_per_constituency"]) < 0:
        raise RuleViolation("Quorum numbers cannot be negative.")
    rules = db.session.get(AssemblyRules, institution.id)
    if rules is None:
        rules = AssemblyRules(institution_id=institution.id)
        db.session.add(rules)
    rules.term_months = term
    rules.notice_days = int(values["notice_days"])
    rules.quorum_members = int(values["quorum_members"])
    rules.quorum_share = share
    rules.quorum_per_constituency = int(values["quorum_per_constituency"])
    rules.method = values["method"]
    rules.weighting = bool(values["weighting"])
    rules.late_arrivals_vote = bool(values["late_arrivals_vote"])
    db.session.flush()
    record_event(
        actor,
        "assembly_rules.saved",
        institution=institution,
        subject=Ref("institution", institution.id),
        data={**rules_data(rules), "quorum_share": f"{share.numerator}/{share.denominator}"},
    )
    return rules


def rules_data(rules: AssemblyRules | Assembly) -> dict[str, Any]:
    return {
        "term_months": rules.term_months,
        "notice_days": rules.notice_days,
        "quorum_members": rules.quorum_members,
        "quorum_per_constituency": rules.quorum_per_constituency,
        "method": str(rules.method),
        "weighting": rules.weighting,
        "late_arrivals_vote": rules.late_arrivals_vote,
    }


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day if it has fewer days)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - some day of every month exists


def latest_notice_on(held_on: date, notice_days: int) -> date:
    """The last day the notice can go out: ``notice_days`` clear days (the day of the notice
    and the day of the assembly not counted) before the assembly."""
    return held_on - timedelta(days=notice_days + 1)


def earliest_date(today: date, notice_days: int) -> date:
    """The first day an assembly can be held if its notice goes out today."""
    return today + timedelta(days=notice_days + 1)
