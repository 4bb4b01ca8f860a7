"""Languages of the web console (gettext catalogues through Babel) and how money, dates
and quantities are written in each: English and Simplified Chinese.

Catalogues are the ``.po`` files under ``translations/`` (compiled in memory when first
used, so the package carries no binary). A person's language is their ``lang`` cookie
(set by the language links), else the browser's ``Accept-Language``, else English.
Money and quantities are integers to the end: written from ``Decimal``, never a float.
"""
import datetime
import functools
import io
import os
from decimal import Decimal

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

HERE = os.path.dirname(os.path.abspath(__file__))
LANGUAGES = {"en": "English", "zh_Hans_CN": "简体中文"}
DEFAULT = "en"
UNITS = {"electricity": "kWh", "water": "m³", "gas": "m³", "time": "min"}


@functools.lru_cache(maxsize=None)
def translations(language):
    path = os.path.join(HERE, "translations", language, "LC_MESSAGES", "messages.po")
    if not os.path.exists(path):
        return NullTranslations()
    with open(path, "rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def choose(cookie, accept_language):
    if cookie in LANGUAGES:
        return cookie
    wanted = [part.split(";")[0].strip().replace("-", "_") for part in (accept_language or "").split(",")]
    for tag in wanted:
        if tag.lower().startswith("zh") and "tw" not in tag.lower() and "hant" not in tag.lower():
            return "zh_Hans_CN"
        if tag.lower().startswith("en"):
            return "en"
    return DEFAULT


class Formats:
    """What a page writes, in one language."""

    def __init__(self, language):
        self.language = language
        self.locale = Locale.parse(language)
        self.gettext = translations(language).gettext

    def money(self, cents):
        if cents is None:
            return ""
        return numbers.format_decimal(Decimal(int(cents)).scaleb(-2), format="#,##0.00", locale=self.locale)

    def tenths(self, tenths):
        return numbers.format_decimal(Decimal(int(tenths or 0)).scaleb(-1), format="#,##0.0", locale=self.locale)

    def milli(self, milli):
        if milli is None:
            return "—"
        return numbers.format_decimal(Decimal(int(milli)).scaleb(-3), format="#,##0.000", locale=self.locale)

    def units(self, tenths, utility="electricity"):
        return "%s %s" % (self.tenths(tenths), self.gettext(UNITS.get(utility, "units")))

    def when(self, value):
        """A naive local datetime (or date) as this language writes it."""
        if value is None:
            return ""
        if isinstance(value, datetime.datetime):
            return dates.format_datetime(value, "medium", locale=self.locale)
        return dates.format_date(value, "medium", locale=self.locale)

    def day(self, value):
        return dates.format_date(value, "short", locale=self.locale)
