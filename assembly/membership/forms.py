"""Institution and constituency forms: shape and format only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, EmailField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from assembly.membership.models import InstitutionKind
from assembly.membership.operations import COLUMN_LABELS


class InstitutionForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Enter the institution's name"), Length(max=200)]
    )
    slug = StringField(
        "Short name for web addresses",
        description="Lower-case letters, digits and hyphens, for example hilltop-academy",
        validators=[
            DataRequired("Enter a short name"),
            Length(max=63, message="The short name must be 63 characters or fewer"),
            Regexp(
                r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
                message="Use only lower-case letters, digits and hyphens, not at either end",
            ),
        ],
    )
    kind = RadioField(
        "Kind of institution",
        choices=[SelectChoice(k.value, k.value.capitalize()) for k in InstitutionKind],
        validators=[DataRequired("Choose the kind of institution")],
    )
    area = StringField("Area it serves (optional)", validators=[Length(max=200)])
    leader_title = StringField(
        "Leader's title (optional)",
        description="What the leader elected at the annual assembly is called. "
        "Leave blank for Headteacher (schools) or Chief Executive.",
        validators=[Length(max=100)],
    )


class InstitutionDetailsForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Enter the institution's name"), Length(max=200)]
    )
    area = StringField("Area it serves", validators=[Length(max=200)])
    leader_title = StringField(
        "Leader's title", validators=[DataRequired("Enter the leader's title"), Length(max=100)]
    )


class ConstituencyForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Enter the constituency's name"), Length(max=100)]
    )
    weight = StringField(
        "Board-seat weight",
        description="A fraction like 1/3, a decimal like 0.25, or a whole number. Each"
        " constituency's share of seats is its weight divided by the sum of all weights.",
        validators=[DataRequired("Enter the weight"), Length(max=40)],
    )
    minimum_age = IntegerField(
        "Minimum age",
        validators=[
            InputRequired("Enter the minimum age (0 for none)"),
            NumberRange(0, 120, "The minimum age must be between 0 and 120"),
        ],
    )
    precedence = IntegerField(
        "Precedence",
        description="A person listed in several constituencies is placed in the one with the"
        " lowest number.",
        validators=[
            InputRequired("Enter the precedence"),
            NumberRange(1, 1000, "The precedence must be from 1 to 1000"),
        ],
    )


class NewConstituencyForm(ConstituencyForm):
    key = StringField(
        "Key",
        description="A stable identifier, for example nurses or teaching_staff",
        validators=[
            DataRequired("Enter a key"),
            Length(max=40),
            Regexp(
                r"^[a-z][a-z0-9_-]*$",
                message="Start with a letter; use lower-case letters, digits,"
                " hyphens and underscores",
            ),
        ],
    )


class RosterUploadForm(FlaskForm):
    constituency = SelectField("Constituency", validators=[DataRequired("Choose a constituency")])
    mode = RadioField(
        "What the file is",
        choices=[
            SelectChoice("snapshot", "Everyone in the constituency (people not listed leave)"),
            SelectChoice("delta", "Only people joining (nobody leaves)"),
        ],
        default="snapshot",
        validators=[DataRequired("Choose what the file is")],
    )
    roster = FileField(
        "Roster file (CSV)",
        description="Columns: external_id, given_name, family_name, email, date_of_birth "
        "(like 2001-03-14), postcode. Other columns are ignored.",
        validators=[FileRequired("Choose a CSV file to upload")],
    )


class MemberFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name or email address", validators=[Length(max=100)])
    constituency = SelectField("Constituency")
    status = SelectField(
        "Status",
        choices=[
            SelectChoice("current", "Current members"),
            SelectChoice("left", "Left"),
            SelectChoice("opted_out", "Opted out"),
            SelectChoice("all", "All"),
        ],
        default="current",
    )


class JoinForm(FlaskForm):
    given_name = StringField(
        "First name", validators=[DataRequired("Enter your first name"), Length(max=100)]
    )
    family_name = StringField(
        "Last name", validators=[DataRequired("Enter your last name"), Length(max=100)]
    )
    email = EmailField(
        "Email address",
        validators=[
            DataRequired("Enter your email address"),
            Email(
                "Enter an email address in the correct format, like name@example.com",
                check_deliverability=False,
            ),
            Length(max=254),
        ],
    )
    postcode = StringField(
        "Postcode", validators=[DataRequired("Enter your postcode"), Length(max=10)]
    )
    date_of_birth = DateField(
        "Date of birth",
        description="For example, 2001-03-14",
        validators=[Optional()],
        format="%Y-%m-%d",
    )


def _column_field(field: str, label: str) -> StringField:
    return StringField(
        label,
        description=f"The column header in your file. Leave blank if the column is called {field}.",
    )


class ColumnMappingForm(FlaskForm):
    """One column header per roster field; the operation checks them (length, clashes)."""

    external_id = _column_field("external_id", COLUMN_LABELS["external_id"])
    given_name = _column_field("given_name", COLUMN_LABELS["given_name"])
    family_name = _column_field("family_name", COLUMN_LABELS["family_name"])
    email = _column_field("email", COLUMN_LABELS["email"])
    date_of_birth = _column_field("date_of_birth", COLUMN_LABELS["date_of_birth"])
    postcode = _column_field("postcode", COLUMN_LABELS["postcode"])


class ServiceTokenForm(FlaskForm):
    name = StringField(
        "Name",
        description="What will use the token, for example HR system nightly feed",
        validators=[
            DataRequired("Enter a name for the token"),
            Length(max=200, message="The name must be 200 characters or fewer"),
        ],
    )
    days = IntegerField(
        "Days until it expires",
        description="From 1 to 366. Make a new token before this one expires.",
        default=90,
        validators=[
            InputRequired("Enter how many days the token lasts"),
            NumberRange(1, 366, "The token must last from 1 to 366 days"),
        ],
    )


class RosterSourceForm(FlaskForm):
    constituency = SelectField(
        "Constituency", validators=[DataRequired("Choose the constituency the roster is for")]
    )
