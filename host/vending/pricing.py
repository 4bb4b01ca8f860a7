"""The sale computation: from the money tendered to the units (or currency) credited.

Pure integer arithmetic, no database. The order of deductions, as printed on the receipt:

1. **Debt recovery**: ``debt_recovery_bp`` of the amount tendered (rounded down), at most
   the customer's outstanding debt. Debt is outside VAT.
2. **Service charge** due (monthly charge not yet collected this month, or the daily
   charge for each day since it was last paid), plus VAT on it (rounded half up).
3. The rest includes VAT: ``energy = rest * 10000 // (10000 + vat_bp)``, VAT is the remainder.
4. **Units**: the energy money walks the tariff's block steps from where the meter's
   purchases this calendar month left off; each block buys whole tenths (rounded down);
   money below one tenth's price stays with the utility and is shown as ``rounding``.
5. **Free basic units**: the month's allowance, once per meter and month, as its own token.

Prices are ``price_micro`` (10^-6 currency units per kWh, m3 or minute).
A meter in currency mode gets the energy money as a currency token (10^-5 units) instead.
"""
from host.vending.errors import VendError
from host.vending.money import fmt_cents


def check_blocks(blocks):
    """Blocks: [[upto_tenths or None, price_micro], ...], increasing, last one open-ended."""
    if not blocks:
        raise VendError("a tariff needs at least one price")
    last = 0
    for i, (upto, price) in enumerate(blocks):
        if not isinstance(price, int) or price <= 0:
            raise VendError("tariff prices must be above zero")
        if upto is None:
            if i != len(blocks) - 1:
                raise VendError("only the last tariff block may be open-ended")
        elif upto <= last:
            raise VendError("tariff block limits must increase")
        else:
            last = upto
    if blocks[-1][0] is not None:
        raise VendError("the last tariff block must be open-ended")


def _ceil_div(a, b):
    return -(-a // b)


def split_vat(gross_cents, vat_bp):
    """(net, vat) of a VAT-inclusive amount; the net is rounded down."""
    net = gross_cents * 10000 // (10000 + vat_bp)
    return net, gross_cents - net


def buy_units(energy_cents, blocks, month_before_tenths):
    """Walk the block steps: (tenths, [(price_micro, tenths, cost_micro)], rounding_micro)."""
    money_micro = energy_cents * 10000
    position = month_before_tenths
    total = 0
    steps = []
    for upto, price in blocks:
        if upto is not None and position >= upto:
            continue
        affordable = money_micro * 10 // price
        capacity = None if upto is None else upto - position
        take = affordable if capacity is None else min(affordable, capacity)
        if take <= 0:
            break
        cost = _ceil_div(take * price, 10)     # <= money_micro since take * price <= 10 * money
        money_micro -= cost
        position += take
        total += take
        steps.append((price, take, cost))
        if capacity is None or take < capacity:
            break
    return total, steps, money_micro


def printed_cents(blocks, energy_cents):
    """(cents for each block, rounding cents) as a receipt prints them, adding up to
    ``energy_cents`` exactly: each block shows the whole cents its cost carries the running
    total across (the running total rounded down), the rounding line what is left, which
    is the money below one tenth's price plus the blocks' fractions of a cent."""
    shown, running_micro, before = [], 0, 0
    for block in blocks:
        running_micro += block["cost_micro"]
        upto = running_micro // 10000
        shown.append(upto - before)
        before = upto
    return shown, energy_cents - before


def compute_sale(amount_cents, tariff, credit_mode="unit", debt_cents=0, debt_recovery_bp=0,
                 service_due_cents=0, month_before_tenths=0, free_due_tenths=0):
    """The deductions and credit of one sale, or ``VendError`` if the amount cannot buy any.

    ``tariff`` is a mapping with ``blocks``, ``vat_bp`` and ``min_amount_cents``.
    """
    if amount_cents < tariff["min_amount_cents"]:
        raise VendError("amount %s is below the minimum sale of %s"
                        % (fmt_cents(amount_cents), fmt_cents(tariff["min_amount_cents"])))
    vat_bp = tariff["vat_bp"]
    debt_recovered = min(max(debt_cents, 0), amount_cents * debt_recovery_bp // 10000)
    service_vat = (service_due_cents * vat_bp + 5000) // 10000
    service_gross = service_due_cents + service_vat
    rest = amount_cents - debt_recovered - service_gross
    if rest <= 0:
        raise VendError("amount %s does not cover the charges due (service %s incl. VAT, debt recovery %s)"
                        % (fmt_cents(amount_cents), fmt_cents(service_gross), fmt_cents(debt_recovered)))
    energy_cents, energy_vat = split_vat(rest, vat_bp)
    result = {
        "amount_cents": amount_cents,
        "debt_cents": debt_recovered,
        "debt_after_cents": max(debt_cents, 0) - debt_recovered,
        "service_cents": service_due_cents,
        "vat_cents": service_vat + energy_vat,
        "energy_cents": energy_cents,
        "units_tenths": 0,
        "credit_e5": 0,
        "blocks": [],
        "rounding_micro": 0,
        "free_tenths": free_due_tenths,
    }
    if credit_mode == "currency":
        result["credit_e5"] = energy_cents * 1000
        return result
    tenths, steps, rounding = buy_units(energy_cents, tariff["blocks"], month_before_tenths)
    if tenths <= 0:
        raise VendError("amount %s buys less than 0.1 unit after charges; tender more"
                        % fmt_cents(amount_cents))
    result["units_tenths"] = tenths
    result["blocks"] = [{"price_micro": p, "tenths": t, "cost_micro": c} for p, t, c in steps]
    result["rounding_micro"] = rounding
    return result
