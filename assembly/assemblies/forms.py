"""Assembly forms: shape and format only (the rules live in operations)."""

from __future__ import annotations

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
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

__all__ = [
    "ApplyForm",
    "CheckInSearchForm",
    "DecideForm",
    "PaperBatchForm",
    "RulesForm",
    "ScheduleForm",
]

METHOD_LABELS = {
    "irv": "One preferential ballot, counted by instant runoff",
    "rounds": "Exhaustive rounds: a new vote after each exclusion",
}


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class RulesForm(FlaskForm):
    term_months = IntegerField(
        "Leader's term, in months",
        validators=[InputRequired("Enter the term"), NumberRange(1, 60, "Enter 1 to 60 months")],
    )
    notice_days = IntegerField(
        "Notice, in clear days",
        description="Days between the day the notice goes and the day of the assembly.",
        validators=[InputRequired("Enter the notice"), NumberRange(0, 120, "Enter 0 to 120")],
    )
    quorum_members = IntegerField(
        "Quorum: members present, at least",
        description="0 for no fixed number.",
        validators=[InputRequired("Enter a number (0 for none)"), NumberRange(0, 1_000_000)],
    )
    quorum_share = StringField(
        "Quorum: share of all members, at least",
        filters=[_strip],
        description="A fraction such as 1/10; 0 for none. The larger of the two applies.",
        validators=[
            DataRequired("Enter a fraction such as 1/10, or 0"),
            Regexp(r"^\d+(/\d+)?$", message="Enter the share as a fraction, such as 1/10"),
        ],
    )
    quorum_per_constituency = IntegerField(
        "Quorum: members present from each constituency, at least",
        description="0 for no minimum.",
        validators=[InputRequired("Enter a number (0 for none)"), NumberRange(0, 100_000)],
    )
    method = RadioField(
        "How the leader is elected when several stand",
        choices=[SelectChoice(k, v) for k, v in METHOD_LABELS.items()],
        validators=[InputRequired("Choose how the leader is elected")],
    )
    weighting = BooleanField("Weight the votes by constituency (each counts for its share)")
    late_arrivals_vote = BooleanField("Members who arrive after a vote opened may vote in it")


class ScheduleForm(FlaskForm):
    title = StringField("Title", filters=[_strip], validators=[Length(max=200)])
    held_on = DateField(
        "Date",
        validators=[DataRequired("Enter the date of the assembly, like 2027-06-12")],
    )
    starts_at = StringField(
        "Starts at",
        filters=[_strip],
        description="24-hour time, like 18:30.",
        validators=[
            DataRequired("Enter the start time, like 18:30"),
            Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", message="Enter the time like 18:30"),
        ],
    )
    venue = StringField(
        "Venue",
        filters=[_strip],
        validators=[DataRequired("Enter the venue"), Length(max=300)],
    )
    agenda = TextAreaField("Agenda", validators=[Length(max=5000)])
    returning_officer_id = SelectField("Returning officer", coerce=int, validators=[Optional()])
    e2e = BooleanField(
        "End-to-end verifiable votes: phone ballots are encrypted on the phone and opened "
        "only by trustees after a shuffle",
        description="The returning officer names the trustees (scrutineers chosen by the "
        "members) and prints voting cards before the assembly; a teller hands each member a "
        "card at the door. Paper ballots are counted as today.",
    )


class ApplyForm(FlaskForm):
    ballot_name = StringField(
        "Your name as it should appear on the ballot",
        filters=[_strip],
        validators=[DataRequired("Enter your name"), Length(max=200)],
    )
    statement = TextAreaField(
        "Your statement",
        description="Up to 500 words: why the members should elect you.",
        validators=[DataRequired("Write your statement"), Length(max=6000)],
    )


class DecideForm(FlaskForm):
    decision = RadioField(
        "Decision",
        choices=[SelectChoice("valid", "Valid"), SelectChoice("invalid", "Invalid")],
        validators=[InputRequired("Choose valid or invalid")],
    )
    reason = TextAreaField("Reason (told to the applicant)", validators=[Length(max=2000)])


class CheckInSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET) changes nothing

    name = StringField(
        "Name",
        filters=[_strip],
        validators=[DataRequired("Enter part of the member's name"), Length(min=2, max=100)],
    )
    date_of_birth = DateField("Date of birth", validators=[Optional()])


class PaperBatchForm(FlaskForm):
    constituency = SelectField(
        "Constituency", coerce=int, validators=[InputRequired("Choose the constituency")]
    )
    label = StringField(
        "Batch label",
        filters=[_strip],
        description="As written on the batch's envelope, for example Box 1.",
        validators=[DataRequired("Label the batch"), Length(max=100)],
    )
    papers = TextAreaField(
        "Papers, one per line",
        description="Confirmation: yes, no or abstain. Preferential ballot: the ballot "
        "positions in order of preference, such as 2 1 3. A round: one ballot position.",
        validators=[DataRequired("Enter the papers, one per line")],
    )
