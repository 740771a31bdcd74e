"""Forms of the record pages: shape and format only. Whether a key, a signature or a record
is right is for the operations and the verifier to say."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

__all__ = ["CountersignForm", "OfficerKeyForm", "VerifyForm"]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class OfficerKeyForm(FlaskForm):
    public_key = TextAreaField(
        "Your public key",
        filters=[_strip],
        description="The one line of the file ro.key.pub: 44 letters, digits and signs, "
        "ending in “=”.",
        validators=[
            DataRequired("Paste your public key: the one line of the file ro.key.pub"),
            # A key is 44 characters; room for stray spaces and line breaks, not for a file.
            Length(max=200, message="A public key is one line of 44 characters: paste only that"),
        ],
    )


class CountersignForm(FlaskForm):
    signature = FileField(
        "Your signature file",
        description="The file record.sig that the command above wrote.",
        validators=[FileRequired("Choose the .sig file that `assembly record sign` wrote")],
    )


class VerifyForm(FlaskForm):
    #: A board election's record by its id, another kind's as ``kind-id``.
    election = SelectField("A published record", validators=[Optional()])
    record = FileField(
        "Or a record file from your computer",
        description="An election record (.json) downloaded from a record page, or sent to you.",
    )
    signature = FileField(
        "The returning officer’s signature (optional)",
        description="The file the returning officer’s signing command wrote (.sig), if the "
        "record does not carry their signature yet.",
    )
    receipt = FileField(
        "Your receipt (optional)",
        description="The receipt you downloaded after voting: the check finds your ballot in "
        "the record and checks it is the one you cast.",
    )
    roll_proof = FileField(
        "Your roll proof (optional)",
        description="The roll proof you downloaded from the record page: the check shows "
        "you were on the roll the record commits to.",
    )
    tracker = StringField(
        "Your tracker (optional)",
        filters=[_strip],
        description="Like K7QM-2XHD-9PLA-4RTE: the check finds your ballot and shows it.",
        validators=[Optional(), Length(max=40, message="A tracker has 19 characters")],
    )
