"""Civil-calendar arithmetic without ``datetime`` (MicroPython has none).

Days are counted from 1970-01-01 in the proleptic Gregorian calendar. The meter and the
vending host both use it, so a date means the same on both sides.
"""


def days_from_civil(year, month, day):
    """Days since 1970-01-01 for a Gregorian date (eras of 400 years, March-based years)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def civil_from_days(days):
    """Inverse of days_from_civil -> (year, month, day)."""
    days += 719468
    era = (days if days >= 0 else days - 146096) // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524
                   - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def weekday(days):
    """0 = Monday ... 6 = Sunday for a day count from days_from_civil."""
    return (days + 3) % 7


def days_in_month(year, month):
    if month == 12:
        return 31
    return days_from_civil(year, month + 1, 1) - days_from_civil(year, month, 1)


def valid_date(year, month, day, hour=0, minute=0):
    return (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)
            and 0 <= hour < 24 and 0 <= minute < 60)
