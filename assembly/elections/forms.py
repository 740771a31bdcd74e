"""Board election forms: shape and format only (the rules live in operations)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from assembly.counting.apportionment import METHODS
from assembly.counting.rulesets import DEFAULT_RULES, RULE_SETS
from assembly.elections.models import CandidateOrder, CountMethod
from assembly.membership.models import Institution

APPORTIONMENT_LABELS = {
    "largest-remainder": "Largest remainder (each constituency's exact share, rounded fairly)",
    "sainte-lague": "Sainte-Laguë (seats given one at a time by highest average)",
}
METHOD_LABELS = {
    CountMethod.stv: "Single transferable vote (ranked)",
    CountMethod.plurality: "First past the post",
}
#: The STV rule sets as a secretary knows them (``counting.rulesets``).
RULES_LABELS = {
    "scottish-2007": "Scottish rules (SSI 2007/42)",
    "nhs-mer-2014": "NHS Model Election Rules 2014",
    "ers97": "Electoral Reform Society 1997 rules (ERS97)",
    "meek": "Meek's method",
}


def counting_choice(method: CountMethod, rules: str) -> str:
    """The value of a constituency's counting select: ``stv`` (the default rules),
    ``stv:<rules>`` or ``plurality``."""
    if method == CountMethod.stv and rules != DEFAULT_RULES:
        return f"stv:{rules}"
    return method.value


def read_counting_choice(value: str) -> tuple[CountMethod, str]:
    """The method and STV rules a counting select's value names (``counting_choice``); an
    unknown rule set is left for the settings' check to refuse.

    :raises ValueError: not a counting method.
    """
    method, _, rules = value.partition(":")
    return CountMethod(method), rules or DEFAULT_RULES


def counting_label(method: CountMethod, rules: str) -> str:
    """How a contest is counted, in words: the method, and for STV the rule set."""
    if method != CountMethod.stv:
        return METHOD_LABELS[method]
    return f"{METHOD_LABELS[method]}: {RULES_LABELS.get(rules, rules)}"


def _counting_choices() -> list[SelectChoice]:
    stv = [
        SelectChoice(
            counting_choice(CountMethod.stv, rules), counting_label(CountMethod.stv, rules)
        )
        for rules in sorted(RULE_SETS, key=lambda name: (name != DEFAULT_RULES, name))
    ]
    return [*stv, SelectChoice(CountMethod.plurality.value, METHOD_LABELS[CountMethod.plurality])]


ORDER_LABELS = {
    CandidateOrder.alphabetical: "Alphabetical by surname",
    CandidateOrder.rotated: "Rotated for each voter",
}
DATE_FIELDS = (
    ("notice_of_election_on", "Notice of election"),
    ("nominations_close_on", "Nominations close"),
    ("withdrawals_close_on", "Withdrawals close"),
    ("poll_opens_on", "Poll opens"),
    ("poll_closes_on", "Poll closes (at the end of the day)"),
)


class ElectionForm(FlaskForm):
    """The set-up of a board election; per-constituency fields are added by ``election_form``."""

    title = StringField(
        "Title",
        description="As printed on notices, for example Election of governors 2027",
        validators=[DataRequired("Enter a title"), Length(max=200)],
    )
    seats = IntegerField(
        "Board seats to fill",
        validators=[
            InputRequired("Enter the number of seats"),
            NumberRange(1, 100, "Enter a number of seats from 1 to 100"),
        ],
    )
    apportionment = RadioField(
        "How seats are shared among constituencies",
        choices=[SelectChoice(m, APPORTIONMENT_LABELS[m]) for m in METHODS],
        default="largest-remainder",
        validators=[DataRequired("Choose how seats are shared")],
    )
    candidate_order = RadioField(
        "Order of candidates on the ballot",
        choices=[SelectChoice(o.value, ORDER_LABELS[o]) for o in CandidateOrder],
        default=CandidateOrder.alphabetical.value,
        validators=[DataRequired("Choose the order of candidates")],
    )
    reminder_days_before_close = IntegerField(
        "Remind members who have not voted, working days before the close",
        description="0 sends no reminder",
        default=3,
        validators=[
            InputRequired("Enter a number of days (0 for none)"),
            NumberRange(0, 20, "Enter a number from 0 to 20"),
        ],
    )
    e2e = BooleanField(
        "End-to-end verifiable: online ballots are encrypted in the voter's browser and "
        "opened only by trustees after a shuffle",
        description="The returning officer names the trustees (scrutineers chosen by the "
        "members) after approval, and sends each voter a credential before the poll opens.",
    )
    returning_officer = SelectField(
        "Returning officer",
        description="Approves the set-up, checks nominations and declares the result",
        coerce=int,
        validators=[InputRequired("Choose the returning officer")],
    )
    notice_of_election_on = DateField("Notice of election", validators=[InputRequired()])
    nominations_close_on = DateField("Nominations close", validators=[InputRequired()])
    withdrawals_close_on = DateField("Withdrawals close", validators=[InputRequired()])
    poll_opens_on = DateField("Poll opens", validators=[InputRequired()])
    poll_closes_on = DateField("Poll closes (at the end of the day)", validators=[InputRequired()])


def election_form(institution: Institution, **kwargs: Any) -> ElectionForm:
    """An election form with a weight and a counting method for each constituency."""

    class InstitutionElectionForm(ElectionForm):
        pass

    for constituency in institution.constituencies:
        setattr(
            InstitutionElectionForm,
            f"weight_{constituency.key}",
            StringField(
                f"{constituency.name}: weight",
                description="A fraction such as 1/3, or a whole number",
                validators=[DataRequired("Enter a weight such as 1/3"), Length(max=20)],
            ),
        )
        setattr(
            InstitutionElectionForm,
            f"method_{constituency.key}",
            SelectField(
                f"{constituency.name}: counting method",
                choices=_counting_choices(),
                default=CountMethod.stv.value,
            ),
        )
    return InstitutionElectionForm(**kwargs)


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Why is the election cancelled?",
        description="Members and candidates will read this",
        validators=[DataRequired("Say why the election is cancelled"), Length(max=2000)],
    )


class BallotForm(FlaskForm):
    """A ballot's CSRF token. Its marks are named after the candidates on this voter's ballot
    (``pref-<id>`` number boxes, ``choice`` ticks), so ``ballot_marks`` reads them."""


#: A preference box: ``pref-`` and the candidate's id as the page gave it.
PREFERENCE_PREFIX = "pref-"


def ballot_marks(data: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """The marks in a submitted ballot, as sent: (candidate id, number written) for each
    preference box, in the order sent, and the ids of the ticked candidates.

    Nothing is checked here but the shape: which ids are candidates, and whether the numbers
    make a vote, is for ``voting.ranking_from_marks``. A box sent twice appears twice.
    """
    preferences = [
        (name.removeprefix(PREFERENCE_PREFIX), value)
        for name in data
        if name.startswith(PREFERENCE_PREFIX)
        for value in data.getlist(name)
    ]
    return preferences, list(data.getlist("choice"))


class NominationForm(FlaskForm):
    """A member's nomination of themself (the word limit and the rules: ``nominations``)."""

    ballot_name = StringField(
        "Your name as it should appear on the ballot paper",
        description="Usually your given name and family name",
        validators=[
            DataRequired("Enter your name as it should appear on the ballot paper"),
            Length(max=200, message="Your name on the ballot paper can be at most 200 characters"),
        ],
    )
    statement = TextAreaField(
        "Your statement",
        description=(
            "Why members should vote for you, in plain text of up to 250 words. It is published "
            "in the statement of candidates and shown with the ballot. Leave a blank line "
            "between paragraphs."
        ),
    )
    interests = TextAreaField(
        "Your declared interests",
        description=(
            "Jobs, directorships, contracts or other interests that relate to the institution. "
            'If you have none, write "None".'
        ),
        validators=[DataRequired('Declare your interests. If you have none, write "None"')],
    )
    declares_eligible = BooleanField(
        "I declare that I am eligible to stand for election to the board, as a member of this "
        "constituency",
        validators=[DataRequired("Confirm that you are eligible to stand")],
    )


class NominationDecisionForm(FlaskForm):
    """The returning officer's decision on one nomination."""

    decision = RadioField(
        "Is the nomination valid?",
        choices=[
            SelectChoice("valid", "Valid: the candidate stands in the election"),
            SelectChoice("invalid", "Invalid: the candidate does not stand"),
        ],
        validators=[InputRequired("Choose whether the nomination is valid")],
    )
    reason = TextAreaField(
        "Reason, if the nomination is invalid",
        description="The candidate will read this",
        validators=[Length(max=2000, message="The reason can be at most 2,000 characters")],
    )


class PaperBatchForm(FlaskForm):
    """One entry of a batch of paper or postal ballots."""

    label = StringField(
        "Batch label",
        description="As written on the batch, for example Postal 3",
        validators=[DataRequired("Enter the batch's label"), Length(max=100)],
    )
    voters = TextAreaField(
        "Elector numbers of the voters",
        description="From the postal vote statements or the issue list, separated by spaces",
        validators=[DataRequired("Enter the voters' elector numbers")],
    )
    papers = TextAreaField(
        "Papers",
        description="One paper per line: the ballot positions in order of preference, for "
        "example 2 1 3",
        validators=[DataRequired("Enter the papers")],
    )
