"""Polls: what every vote has, whether it is a contest of a board election or a vote at the
annual assembly.

Words:

- **poll** — one question put to a roll of voters: a board election's contest (one
  constituency's seats) or an assembly's vote (a confirmation, the preferential ballot, or
  one round). Its row is the one every writer locks (``locks``).
- **marks** — what a voter writes on a ballot page (numbers next to names, or ticks), read
  as a ranking of candidate ids (``marks``).
- **roll mark** — "this voter has voted in this poll", keyed so the database refuses a
  second; written in the same transaction as the ballot and holding nothing that links to it.
- **ballot** — the content of one vote: a random id, a **tracker** (``casting``), the ranking
  or the choice, the channel and the date; no voter and no time of day.
- **paper batch** — paper ballots entered twice by two people; accepted only when both
  entries match (``paper``).

The locking discipline (``locks``), the same for every poll: whatever stores a ballot or a
roll mark (a phone or web cast, a paper given out, a batch accepted) holds a *shared* lock on
the poll's row and checks inside it that the poll is open; closing and counting hold an
*exclusive* lock on it and check its state again. So on PostgreSQL a ballot is either stored
before the close, and counted, or refused; never stored and left out of the count. (On SQLite
every writing transaction is exclusive already: casting begins as a writer.)
"""
