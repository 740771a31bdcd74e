"""Board election forms: shape and format only (the rules live in operations)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from assembly.counting.apportionment import METHODS
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
                choices=[SelectChoice(m.value, METHOD_LABELS[m]) for m in CountMethod],
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
