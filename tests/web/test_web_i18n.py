"""Every text the templates and pages translate has its Simplified Chinese translation,
and the catalogue holds nothing the code no longer uses."""
import os

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import host.web

WEB = os.path.dirname(host.web.__file__)
# Values shown through _() rather than literals: channels, states, roles, utilities, units.
VALUES = {"cash", "bank", "mobile", "card", "active", "blocked", "removed", "pending", "confirmed", "rejected",
          "online", "offline", "free_basic", "key_change", "queued", "sent", "done", "refused", "expired",
          "bad-result", "not sent (meter offline: keypad)",
          "clerk", "supervisor", "admin", "electricity", "water", "gas", "time", "unit", "currency", "units",
          "refund", "offset", "credit", "kWh", "m³", "min", "unknown"}


def used_messages():
    found = set()
    for _, _, message, _, _ in extract_from_dir(os.path.join(WEB, "templates"), [("**.html", "jinja2")]):
        found.add(message)
    for _, _, message, _, _ in extract_from_dir(WEB, [("*.py", "python")], keywords={"gettext": None}):
        found.add(message)
    return found | VALUES


def test_every_message_is_translated_and_none_is_stale():
    with open(os.path.join(WEB, "translations", "zh_Hans_CN", "LC_MESSAGES", "messages.po"), "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string}
    used = used_messages()
    assert len(used) > 100
    assert sorted(used - translated) == []
    assert sorted(translated - used) == []


def test_money_dates_and_units_per_language():
    import datetime
    from host.web.i18n import Formats, choose
    en, zh = Formats("en"), Formats("zh_Hans_CN")
    assert (en.money(123456789), en.money(-5), en.units(12345)) == ("1,234,567.89", "-0.05", "1,234.5 kWh")
    assert (zh.money(100), zh.units(15, "water")) == ("1.00", "1.5 立方米")
    at = datetime.datetime(2026, 5, 4, 9, 30)
    assert en.when(at) == "May 4, 2026, 9:30:00\u202fAM" or en.when(at).startswith("May 4, 2026")
    assert zh.when(at).startswith("2026年5月4日")
    assert choose(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh_Hans_CN"
    assert choose(None, "zh-TW") == "en" and choose("en", "zh-CN") == "en" and choose("xx", None) == "en"
