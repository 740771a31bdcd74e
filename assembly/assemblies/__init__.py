"""The annual public assembly: members meet in public and elect the institution's leader.

Words: an **assembly** is held on a day at a venue after **notice** to every member; leader
**candidates** (the incumbent, invited, and others who apply) are checked by the secretary and
the returning officer; on the day **tellers** check members in (**attendance**); the assembly
is **quorate** when enough members are present; the chair opens a **vote** — a confirmation
(one candidate: yes, no or abstain), a preferential ballot counted by instant runoff, or one
round of an exhaustive ballot — which members present cast on their phones or on paper; the
result is declared in the room and the leader's **term** begins.
"""
