"""The audit log: every change, in order, each event chained to the one before by its hash.

Words: an **event** is one change (``action`` such as ``institution.created``) by an
**actor**; the **chain** is the sequence of events, each carrying the previous one's hash;
the **head** is the last event's hash, which election records quote.
"""
