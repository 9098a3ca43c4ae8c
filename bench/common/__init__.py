"""What the bench scenarios share: the SCIM client, the server under test, bench databases, statistics and reports."""
