"""Sign-in and permissions.

Words: a **user** signs in by an emailed **sign-in link** (no passwords) that works once and
for 15 minutes; a **role grant** gives a user a role (secretary, returning officer, teller) in
one institution; a **platform admin** creates institutions and grants roles. Members need no
grant: their memberships are found by their email address.
"""
