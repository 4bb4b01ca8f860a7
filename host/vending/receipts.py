"""Receipts as the customer reads them: plain text (counter printer, 40 columns) and PDF.

Both render the dict from ``sales.receipt``; nothing here touches the database.
"""
from host.vending.money import fmt_cents, fmt_tenths

WIDTH = 40
UNIT_NAMES = {"electricity": "kWh", "water": "m3", "gas": "m3", "time": "min"}
KIND_LABELS = {"credit": "CREDIT TOKEN", "free_basic": "FREE BASIC UNITS", "key_change": "KEY CHANGE TOKEN"}


def _line(left, right):
    gap = max(1, WIDTH - len(left) - len(right))
    return left + " " * gap + right


def _price(price_micro):
    text = "%d.%06d" % (price_micro // 1000000, price_micro % 1000000)
    whole, frac = text.split(".")
    frac = frac.rstrip("0")
    return whole + "." + (frac + "00")[:max(2, len(frac))]


def lines(r):
    """The receipt as a list of text lines."""
    unit = UNIT_NAMES.get(r["utility"], "units")
    out = ["PREPAY VENDING".center(WIDTH), ("REPRINT" if r.get("reprint") else "SALE RECEIPT").center(WIDTH),
           "-" * WIDTH,
           _line("Receipt", str(r["receipt"])),
           _line("Date", r["local_time"] or r["sold_at"]),
           _line("Customer", r["customer"]["name"][:28]),
           _line("Account", r["customer"]["account"]),
           _line("Meter", r["meter"]),
           _line("Tariff", r["tariff"] or "-"),
           "-" * WIDTH,
           _line("Amount tendered", fmt_cents(r["amount_cents"]))]
    d = r["deductions"]
    if d["debt_cents"]:
        out.append(_line("Debt recovery", "-" + fmt_cents(d["debt_cents"])))
    if d["service_cents"]:
        out.append(_line("Service charge", "-" + fmt_cents(d["service_cents"])))
    out.append(_line("VAT %s%%" % fmt_cents(r.get("vat_bp", 0)).rstrip("0").rstrip("."), "-" + fmt_cents(d["vat_cents"])))
    out.append(_line("Energy amount" if r["utility"] == "electricity" else "Credit amount", fmt_cents(r["energy_cents"])))
    for block in r.get("blocks", []):
        out.append(_line("  %s %s @ %s" % (fmt_tenths(block["tenths"]), unit, _price(block["price_micro"])),
                         fmt_cents((block["cost_micro"] + 9999) // 10000)))
    if r["credit_mode"] == "currency":
        out.append(_line("Credit", "%d.%05d" % divmod(r["credit_e5"], 100000)))
    else:
        out.append(_line("Units", "%s %s" % (fmt_tenths(r["units_credited_tenths"]), unit)))
    if r.get("free_tenths"):
        out.append(_line("Free basic units", "%s %s" % (fmt_tenths(r["free_tenths"]), unit)))
    if r.get("debt_after_cents"):
        out.append(_line("Debt remaining", fmt_cents(r["debt_after_cents"])))
    out.append("-" * WIDTH)
    for tok in r["tokens"]:
        label = KIND_LABELS.get(tok["kind"], tok["kind"].upper())
        if tok["kind"] == "key_change":
            label += " (ENTER FIRST)"
        out.append(label)
        out.append("  " + tok["formatted"])
    out.append("-" * WIDTH)
    out.append(_line("Operator", r["operator"]))
    out.append(_line("Paid by", r["channel"]))
    if r.get("tid") is not None:
        out.append(_line("TID", str(r["tid"])))
    out.append("Keep this receipt. Tokens cannot be".center(WIDTH))
    out.append("refunded once entered.".center(WIDTH))
    return out


def text(r):
    return "\n".join(lines(r)) + "\n"


def write_pdf(r, path):
    """A one-page PDF receipt (A6 portrait) with the same lines; tokens set large."""
    from fpdf import FPDF
    pdf = FPDF(orientation="P", unit="mm", format=(105, 148))   # A6
    pdf.set_auto_page_break(True, margin=6)
    pdf.set_margins(6, 6, 6)
    pdf.add_page()
    pdf.set_title("Prepay receipt %s" % r["receipt"])
    pdf.set_creator("prepay vend")
    for line in lines(r):
        stripped = line.strip()
        if any(stripped == t["formatted"] for t in r["tokens"]):
            pdf.set_font("Courier", "B", 11)
            pdf.cell(0, 6, stripped, new_x="LMARGIN", new_y="NEXT", align="C")
        else:
            pdf.set_font("Courier", "", 7.5)
            pdf.cell(0, 3.6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(path)
    return path
