"""Calendar arithmetic shared by Smart Assign and the reports (no Flask, no database)."""

import calendar
from datetime import datetime


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day (Aug 31 + 6 months = Feb 28/29)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
