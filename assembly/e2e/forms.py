"""The forms of an end-to-end verifiable poll's trustees' page, the same for a board election
and an assembly: naming the trustees, and a trustee's upload of what ``assembly trustee``
wrote."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange

__all__ = ["TrusteeUploadForm", "TrusteesForm"]


class TrusteesForm(FlaskForm):
    """The returning officer names the scrutineers who, with them, hold the key."""

    scrutineers = TextAreaField(
        "Scrutineers' email addresses",
        description="One on each line: the members chosen to be trustees. You are trustee 1.",
        validators=[DataRequired("Enter at least one scrutineer's email address")],
    )
    threshold = IntegerField(
        "Trustees needed to open the ballots",
        description="Any this many of the trustees (you included) open the ballots; the others "
        "need not be there. More than half is usual.",
        validators=[
            InputRequired("Enter how many trustees are needed"),
            NumberRange(1, 12, "Enter a number from 1 to 12"),
        ],
    )


class TrusteeUploadForm(FlaskForm):
    """A trustee uploads the file ``assembly trustee shuffle`` or ``open`` wrote."""

    upload = FileField(
        "Your file",
        validators=[FileRequired("Choose the file that `assembly trustee` wrote")],
    )
