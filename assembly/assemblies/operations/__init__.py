"""The annual assembly's steps, one module each: its standing rules (``rules``), scheduling
and notice (``scheduling``), leader candidates (``candidates``), check-in and quorum
(``attendance``), votes in the room (``voting``), and the declaration (``declaration``).
Who may chair and who may check members in is ``roles``; reads shared by several steps are in
``assemblies.queries``.

Operations take an explicit actor, raise ``DomainError``s, flush, audit and queue notices;
they never commit (the view or command does, once).
"""

from __future__ import annotations

from assembly.assemblies.operations.attendance import (
    AlreadyCheckedIn,
    QuorumStatus,
    check_in,
    open_assembly,
    quorum_status,
)
from assembly.assemblies.operations.candidates import (
    apply_to_stand,
    decide_application,
    publish_candidates,
    withdraw_candidate,
)
from assembly.assemblies.operations.declaration import declare_assembly
from assembly.assemblies.operations.roles import can_check_in, check_chair
from assembly.assemblies.operations.rules import (
    add_months,
    earliest_date,
    latest_notice_on,
    rules_for,
    save_rules,
)
from assembly.assemblies.operations.scheduling import (
    current_leader,
    schedule_assembly,
    seed_commitment,
    send_notice,
    tick_assemblies,
)
from assembly.assemblies.operations.voting import (
    cast_assembly_vote,
    close_vote,
    continuing_candidates,
    count_closed_vote,
    open_vote,
    vote_turnout,
)

__all__ = [
    "AlreadyCheckedIn",
    "QuorumStatus",
    "add_months",
    "apply_to_stand",
    "can_check_in",
    "cast_assembly_vote",
    "check_chair",
    "check_in",
    "close_vote",
    "continuing_candidates",
    "count_closed_vote",
    "current_leader",
    "decide_application",
    "declare_assembly",
    "earliest_date",
    "latest_notice_on",
    "open_assembly",
    "open_vote",
    "publish_candidates",
    "quorum_status",
    "rules_for",
    "save_rules",
    "schedule_assembly",
    "seed_commitment",
    "send_notice",
    "tick_assemblies",
    "vote_turnout",
    "withdraw_candidate",
]
