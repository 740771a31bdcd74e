"""Membership's use cases that change state, one module per use case; none of them commits.

- ``institutions``: create and change institutions and their constituencies.
- ``enrolment``: enrol a member one at a time; a member opts out, or back in.
- ``signup``: a resident signs up to the community constituency.
- ``sources``: roster sources and their column mappings.
- ``rosters``: import a roster file, or an upload checked, confirmed and applied.

Every public name is importable from here too.
"""

from assembly.membership.operations.enrolment import enrol_person, opt_in, opt_out
from assembly.membership.operations.institutions import (
    KEY_PATTERN,
    RESERVED_SLUGS,
    SLUG_PATTERN,
    add_constituency,
    create_institution,
    parse_weight,
    update_constituency,
    update_institution,
)
from assembly.membership.operations.rosters import (
    apply_roster,
    check_roster,
    confirm_roster,
    fail_run,
    import_roster,
    receive_roster,
    refuse_run,
    upload_path,
)
from assembly.membership.operations.signup import SIGNUP_SOURCE, check_signup, join_community
from assembly.membership.operations.sources import (
    COLUMN_LABELS,
    MAX_COLUMN_HEADER,
    ColumnMappingError,
    clean_column_mapping,
    ensure_csv_source,
    ensure_source,
    update_column_mapping,
)

__all__ = [
    "COLUMN_LABELS",
    "KEY_PATTERN",
    "MAX_COLUMN_HEADER",
    "RESERVED_SLUGS",
    "SIGNUP_SOURCE",
    "SLUG_PATTERN",
    "ColumnMappingError",
    "add_constituency",
    "apply_roster",
    "check_roster",
    "check_signup",
    "clean_column_mapping",
    "confirm_roster",
    "create_institution",
    "enrol_person",
    "ensure_csv_source",
    "ensure_source",
    "fail_run",
    "import_roster",
    "join_community",
    "opt_in",
    "opt_out",
    "parse_weight",
    "receive_roster",
    "refuse_run",
    "update_column_mapping",
    "update_constituency",
    "update_institution",
    "upload_path",
]
