"""The credit account: balance, emergency credit, debt, top-ups and charges.

All amounts are ints in *credit micro*: millionths of the credit unit, i.e.
10^-6 currency base units in currency mode (STS currency tokens carry 10^-5, so they
convert exactly) or 10^-6 kWh / m3 / minute in unit mode (an STS unit token's 0.1 is
100 000). The account is a plain dict (part of the "meter" record); ``check`` states
the bookkeeping identity the power-cut tests rely on.
"""
from const import const

NO_USE_DAYS = const(9999)


def new_state(debt_micro=0):
    return {
        "bal": 0,              # balance the customer may spend (may go negative)
        "ec_owed": 0,          # emergency credit taken and not yet repaid
        "debt": debt_micro,    # debt still to recover
        "last_purchase": 0,    # amount of the last top-up (for % alarm levels)
        "topups": 0,           # count of accepted top-ups
        "purchased": 0,        # sum of accepted top-ups (negative tokens included)
        "ec_given": 0, "ec_repaid": 0,
        "debt_paid": 0,        # recovered debt (from top-ups and per day)
        "energy": 0,           # charged for consumption
        "standing": 0,         # charged as standing charge
        "cleared": 0,          # removed by a ClearCredit token
        "cost_rem": 0,         # sub-micro remainder of consumption cost (10^-6 micro)
    }


def check(s):
    """Difference between the balance and what the counters say it should be (0)."""
    expect = (s["purchased"] + s["ec_given"] - s["ec_repaid"] - s["debt_paid"]
              - s["energy"] - s["standing"] - s["cleared"])
    return s["bal"] - expect


def charge_usage(s, qty_micro, price_micro_per_unit):
    """Deduct the cost of qty_micro (millionths of a unit) at a price; returns cost."""
    num = qty_micro * price_micro_per_unit + s["cost_rem"]
    cost = num // 1000000
    s["cost_rem"] = num - cost * 1000000
    s["bal"] -= cost
    s["energy"] += cost
    return cost


def charge_standing(s, amount_micro):
    s["bal"] -= amount_micro
    s["standing"] += amount_micro


def recover_daily_debt(s, per_day_micro):
    """Time-based debt recovery; returns the amount taken."""
    take = min(per_day_micro, s["debt"])
    if take > 0:
        s["debt"] -= take
        s["debt_paid"] += take
        s["bal"] -= take
    return take


def plan_topup(s, amount_micro, debt_percent):
    """How a top-up splits: (to_emergency, to_debt, to_balance). Nothing changes."""
    if amount_micro <= 0:
        return 0, 0, amount_micro
    to_ec = min(amount_micro, s["ec_owed"])
    rest = amount_micro - to_ec
    to_debt = min(s["debt"], rest * debt_percent // 100)
    return to_ec, to_debt, rest - to_debt


def apply_topup(s, amount_micro, plan):
    to_ec, to_debt, to_bal = plan
    s["ec_owed"] -= to_ec
    s["ec_repaid"] += to_ec
    s["debt"] -= to_debt
    s["debt_paid"] += to_debt
    s["bal"] += to_bal
    s["purchased"] += amount_micro
    s["topups"] += 1
    if amount_micro > 0:
        s["last_purchase"] = amount_micro


def take_emergency(s, cfg):
    """Emergency credit at the keypad; returns a result code."""
    ec = cfg["emergency"]
    if ec["amount_micro"] <= 0:
        return "disabled"
    if s["ec_owed"] > 0:
        return "already_active"
    if s["bal"] >= ec["threshold_micro"]:
        return "not_needed"
    s["ec_owed"] = ec["amount_micro"]
    s["ec_given"] += ec["amount_micro"]
    s["bal"] += ec["amount_micro"]
    return "accepted"


def clear(s):
    """ClearCredit: the balance (and emergency credit owed) go to zero."""
    s["cleared"] += s["bal"]
    s["bal"] = 0
    s["ec_repaid"] += s["ec_owed"]   # written off with the balance it was part of
    s["cleared"] -= s["ec_owed"]
    s["ec_owed"] = 0


def days_remaining(balance_micro, spent_7_days_micro):
    """Whole days of credit left at the last 7 days' average use (Merkur rule)."""
    if balance_micro <= 0:
        return 0
    if spent_7_days_micro <= 0:
        return NO_USE_DAYS
    return balance_micro * 7 // spent_7_days_micro


def _below(level, s, spent7):
    if level is None:
        return False
    bal = s["bal"]
    if level["micro"] is not None and bal <= level["micro"]:
        return True
    if level["percent"] is not None and s["last_purchase"] > 0 \
            and bal * 100 <= level["percent"] * s["last_purchase"]:
        return True
    if level["days"] is not None and days_remaining(bal, spent7) <= level["days"]:
        return True
    return False


def levels_micro(s, cfg):
    """The balances at which credit_state changes (the disconnect level, the low-credit
    alarms' amounts and shares of the last purchase): worth sampling at."""
    out = [cfg["disconnect_micro"]]
    for name in ("low1", "low2"):
        level = cfg["alarms"][name]
        if level is not None:
            if level["micro"] is not None:
                out.append(level["micro"])
            if level["percent"] is not None and s["last_purchase"] > 0:
                out.append(s["last_purchase"] * level["percent"] // 100)
    return out


def credit_state(s, cfg, spent7):
    """normal / low1 / low2 / exhausted / emergency / disconnected (see README)."""
    limit = cfg["disconnect_micro"]
    if s["bal"] <= limit:
        if s["ec_owed"] == 0 and cfg["emergency"]["amount_micro"] > 0:
            return "exhausted"
        return "disconnected"
    if s["ec_owed"] > 0:
        return "emergency"
    alarms = cfg["alarms"]
    if _below(alarms["low2"], s, spent7):
        return "low2"
    if _below(alarms["low1"], s, spent7):
        return "low1"
    return "normal"
