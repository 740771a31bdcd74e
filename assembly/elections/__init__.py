"""Board elections: the board's seats shared among the constituencies, each a contest.

Words: a **board election** fills N seats, **apportioned** to the constituencies by weight;
each constituency's part is a **contest** with its own seats, **candidates** and counting
method. The **timetable** (notice of election, nominations close, withdrawals close, poll
opens, poll closes) is checked in working days; the **returning officer** approves the
set-up. The **roll** is frozen at the close of nominations; a **ballot** holds a vote with a
**tracker** and nothing that names the voter.
"""
