"""The operator's command line (``./herd ...``): companies, tokens, admins, catalog, database, demo, and the start-up preflight."""
