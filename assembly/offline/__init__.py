"""The commands that need no app, no database and no settings: ``assembly count``,
``assembly verify``, ``assembly keys generate`` and ``assembly record sign``.

Anyone recounts a ballot file or verifies a published record with them, on their own machine,
straight after installing: no ``ASSEMBLY_*`` settings, no instance folder, no server. The
returning officer makes their signing key and countersigns a record here too, so that their
private key never reaches the server. ``assembly.cli`` adds these commands to the group itself,
so Flask never loads the application for them.

So these modules import only the standard library, ``click``, ``cryptography`` and the pure
core (``assembly.counting`` and the pure part of ``assembly.records``); never the application,
its configuration, Flask or a database, which would make a recount depend on a deployment's
settings (``tests/test_purity.py`` parses their imports to keep it so).
"""
