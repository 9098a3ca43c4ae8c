"""CSV rendering of the compliance report's per-learner rows, streamed in chunks.

Values come from identity providers and admins, so a cell that a spreadsheet
would run as a formula is prefixed with an apostrophe (OWASP's advice on CSV
injection): one starting with = + - @, tab or carriage return, also after
leading whitespace (spaces, line feeds: spreadsheets skip them) and in the
full-width forms ＝ ＋ － ＠ (which spreadsheets with East Asian input read as
the ASCII signs).
"""

import csv
import io
from datetime import datetime

from models import utcnow
from service.reports.compliance import CSV_COLUMNS, iter_rows

FORMULA_START = ("\t", "\r")
# What starts a formula once leading whitespace is skipped: the ASCII signs and their
# full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20).
FORMULA_SIGNS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
ROWS_PER_CHUNK = 500


def cell(value):
    """One CSV cell: ISO-8601 UTC for datetimes, neutralized formulas, '' for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    text = str(value)
    if text.startswith(FORMULA_START) or text.lstrip()[:1] in FORMULA_SIGNS:
        return "'" + text
    return text


def filename(company_id, now=None):
    """The download's file name: compliance-{company}-{YYYY-MM-DD}.csv."""
    return f"compliance-{company_id}-{(now or utcnow()):%Y-%m-%d}.csv"


def stream(session_factory, company_id, now, within=None):
    """Yield the CSV text in chunks; the session lives as long as the download (``within``: a
    manager's chain, ``service/reports/manager_chain.below``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    with session_factory() as session:
        pending = 0
        for row in iter_rows(session, company_id, now, within=within):
            writer.writerow([cell(row[c]) for c in CSV_COLUMNS])
            pending += 1
            if pending >= ROWS_PER_CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                pending = 0
    yield buffer.getvalue()
