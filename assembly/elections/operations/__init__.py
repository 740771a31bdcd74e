"""Board elections' steps: the set-up the secretary drafts and the returning officer approves
(``setup``), the dated steps the timer makes on the timetable (``steps``), and the row lock and
state check every transition takes (``transitions``). Nominations, voting, paper ballots, the
count and the record each have their own module beside this package.

Every function takes the actor, checks the rules, flushes, writes an audit event and never
commits.
"""

from __future__ import annotations

from assembly.elections.operations.setup import (
    OFFICER_KEY_STATES,
    ElectionSettings,
    approve_election,
    cancel_election,
    create_election,
    is_settings_locked,
    preview_seats,
    register_officer_key,
    settings_fingerprint,
    settings_of,
    timetable_rules,
    update_election,
    weights_json,
)
from assembly.elections.operations.steps import (
    close_nominations,
    close_poll,
    freeze_roll,
    members_to_notify,
    open_nominations,
    open_poll,
    reminder_due_on,
    send_reminders,
    tick,
)
from assembly.elections.operations.transitions import lock_election

__all__ = [
    "OFFICER_KEY_STATES",
    "ElectionSettings",
    "approve_election",
    "cancel_election",
    "close_nominations",
    "close_poll",
    "create_election",
    "freeze_roll",
    "is_settings_locked",
    "lock_election",
    "members_to_notify",
    "open_nominations",
    "open_poll",
    "preview_seats",
    "register_officer_key",
    "reminder_due_on",
    "send_reminders",
    "settings_fingerprint",
    "settings_of",
    "tick",
    "timetable_rules",
    "update_election",
    "weights_json",
]
