"""Members' personal data: retention of ballot data, a member's own export, and erasure.

- **Retention.** Ballot data (the ballots, and paper batch entries, which pair elector numbers
  with rankings) is kept for a year after the result is declared, then deleted. The signed
  record, which publishes every ballot without any voter, stays: results, BLT downloads and
  every check still come from it. Roll marks (who voted, not how) stay with the roll.
- **Export.** A member downloads everything the service holds about the people with their
  email address: memberships, roles, candidacies, rolls they were on (and whether they have
  voted — never how), attendance at assemblies.
- **Erasure.** A person's name, email address, date of birth and postcode are replaced and
  their memberships end. Signed records are stored documents, so they stay valid; the roll
  commitments in them no longer lead to anyone. Refused while the person is on the roll of an
  election or assembly whose record is not yet made, since the record commits to the roll.

``operations.py`` holds these rules and ``cli.py`` the ``assembly privacy purge | export |
erase`` commands (the purge runs nightly: deploy/systemd and ``assembly timers run``). A
member's own download, ``/my/data.json``, is one of their "my" pages on the membership
blueprint (``membership.my_data``), which calls ``export_person``.
"""
