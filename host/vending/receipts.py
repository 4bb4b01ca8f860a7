"""Receipts as the customer reads them: plain text (counter printer, 40 columns) and PDF.

Both render the dict from ``sales.receipt``; nothing here touches the database.

* The money lines add up, to the cent, as in the JSON: the amount tendered is the
  deductions plus the energy (or credit) amount, and that is its block lines plus the
  rounding the utility keeps (``pricing.printed_cents``). What the token carries, which a
  token rounds up in the customer's favour, is printed as well when it differs.
* Text from the ledger (name, account, tariff, operator) is escaped (``text.shown``) and
  wrapped onto further lines when long, never cut.
* The PDF is set in DejaVu Sans Mono (shipped with matplotlib), a Unicode font, with
  DejaVu Sans for what the monospace font lacks (loaded only then), the tokens in bold
  Courier; a name neither font can draw makes ``write_pdf`` refuse rather than print a
  receipt with letters missing.
* ``save`` runs after the sale has committed, so it never raises: a receipt that cannot be
  rendered as PDF is written as text, and anything else that fails is a warning.
"""
import os
import textwrap

from host.vending.money import fmt_cents, fmt_tenths
from host.vending.text import shown

WIDTH = 40
UNIT_NAMES = {"electricity": "kWh", "water": "m3", "gas": "m3", "time": "min"}
KIND_LABELS = {"credit": "CREDIT TOKEN", "free_basic": "FREE BASIC UNITS", "key_change": "KEY CHANGE TOKEN"}


class ReceiptError(Exception):
    """A receipt that cannot be rendered as asked (the sale itself stands)."""


def _line(left, right):
    """``left`` and ``right`` on one line of WIDTH, or the label and then the value
    right-aligned on as many lines as it needs."""
    right = shown(right)
    if len(left) + 1 + len(right) <= WIDTH:
        return [left + " " * (WIDTH - len(left) - len(right)) + right]
    return [left] + [part.rjust(WIDTH) for part in textwrap.wrap(right, WIDTH - 2)]


def _price(price_micro):
    text = "%d.%06d" % (price_micro // 1000000, price_micro % 1000000)
    whole, frac = text.split(".")
    frac = frac.rstrip("0")
    return whole + "." + (frac + "00")[:max(2, len(frac))]


def _e5(value):
    return "%d.%05d" % divmod(value, 100000)


def _money(r, unit):
    """The lines from the amount tendered to what the token carries."""
    out = _line("Amount tendered", fmt_cents(r["amount_cents"]))
    d = r["deductions"]
    if d["debt_cents"]:
        out += _line("Debt recovery", "-" + fmt_cents(d["debt_cents"]))
    if d["service_cents"]:
        out += _line("Service charge", "-" + fmt_cents(d["service_cents"]))
    out += _line("VAT %s%%" % fmt_cents(r.get("vat_bp", 0)).rstrip("0").rstrip("."), "-" + fmt_cents(d["vat_cents"]))
    out += _line("Energy amount" if r["utility"] == "electricity" else "Credit amount", fmt_cents(r["energy_cents"]))
    for block in r.get("blocks", []):
        out += _line("  %s %s @ %s" % (fmt_tenths(block["tenths"]), unit, _price(block["price_micro"])),
                     fmt_cents(block["cost_cents"]))
    if r.get("rounding_cents"):
        out += _line("  Rounding (kept)", fmt_cents(r["rounding_cents"]))
    if r["credit_mode"] == "currency":
        out += _line("Credit on token", _e5(r["credit_e5"]))
    elif r["units_credited_tenths"] != r["units_tenths"]:
        out += _line("Units bought", "%s %s" % (fmt_tenths(r["units_tenths"]), unit))
        out += _line("Units on token", "%s %s" % (fmt_tenths(r["units_credited_tenths"]), unit))
    else:
        out += _line("Units", "%s %s" % (fmt_tenths(r["units_credited_tenths"]), unit))
    return out


def lines(r):
    """The receipt as a list of text lines."""
    unit = UNIT_NAMES.get(r["utility"], "units")
    out = ["PREPAY VENDING".center(WIDTH), ("REPRINT" if r.get("reprint") else "SALE RECEIPT").center(WIDTH),
           "-" * WIDTH]
    for label, value in (("Receipt", r["receipt"]), ("Date", r["local_time"] or r["sold_at"]),
                         ("Customer", r["customer"]["name"]), ("Account", r["customer"]["account"]),
                         ("Meter", r["meter"]), ("Tariff", r["tariff"] or "-")):
        out += _line(label, value)
    out.append("-" * WIDTH)
    out += _money(r, unit)
    if r.get("free_tenths"):
        out += _line("Free basic units", "%s %s" % (fmt_tenths(r["free_tenths"]), unit))
    if r.get("debt_after_cents"):
        out += _line("Debt remaining", fmt_cents(r["debt_after_cents"]))
    out.append("-" * WIDTH)
    out += token_lines(r)
    out.append("-" * WIDTH)
    out += _line("Operator", r["operator"])
    out += _line("Paid by", r["channel"])
    if r.get("tid") is not None:
        out += _line("TID", str(r["tid"]))
    out.append("Keep this receipt. Tokens cannot be".center(WIDTH))
    out.append("refunded once entered.".center(WIDTH))
    return out


def token_lines(r):
    """The tokens alone, each under its label (key change tokens first, as entered)."""
    out = []
    for tok in r["tokens"]:
        label = KIND_LABELS.get(tok["kind"], tok["kind"].upper())
        if tok["kind"] == "key_change":
            label += " (ENTER FIRST)"
        out.append(label)
        out.append("  " + tok["formatted"])
    return out


def text(r):
    return "\n".join(lines(r)) + "\n"


def _font_dir():
    import matplotlib
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def write_pdf(r, path):
    """A one-page PDF receipt (A6 portrait) with the same lines; tokens set large."""
    _write_private(path, pdf_bytes(r))
    return path


def pdf_bytes(r):
    """The PDF receipt as bytes (a web page sends them; ``write_pdf`` stores them)."""
    from fpdf import FPDF
    receipt_lines = lines(r)
    pdf = FPDF(orientation="P", unit="mm", format=(105, 148))   # A6
    pdf.set_auto_page_break(True, margin=6)
    pdf.set_margins(6, 6, 6)
    fonts = _font_dir()
    pdf.add_font("mono", "", os.path.join(fonts, "DejaVuSansMono.ttf"))   # parsing a font costs ~70 ms
    needed = {ord(c) for line in receipt_lines for c in line}
    drawable = set(pdf.fonts["mono"].cmap)
    if not needed <= drawable:
        pdf.add_font("sans", "", os.path.join(fonts, "DejaVuSans.ttf"))
        pdf.set_fallback_fonts(["sans"], exact_match=False)
        drawable |= set(pdf.fonts["sans"].cmap)
    missing = sorted(chr(c) for c in needed - drawable)
    if missing:
        raise ReceiptError("the PDF font has no letter for %s" % ", ".join("%s (U+%04X)" % (c, ord(c))
                                                                         for c in missing[:5]))
    pdf.add_page()
    pdf.set_title("Prepay receipt %s" % r["receipt"])
    pdf.set_creator("prepay vend")
    formatted = {t["formatted"] for t in r["tokens"]}
    for line in receipt_lines:
        if line.strip() in formatted:                 # digits only: the built-in Courier will do
            pdf.set_font("Courier", "B", 11)
            pdf.cell(0, 6, line.strip(), new_x="LMARGIN", new_y="NEXT", align="C")
        else:
            pdf.set_font("mono", "", 7.5)
            pdf.cell(0, 3.6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _write_private(path, data):
    """A receipt names a customer and carries tokens: the owner's only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)      # a file that existed before keeps its old mode otherwise


def save(r, path):
    """Write the receipt to ``path`` (PDF for ``.pdf``, text otherwise); returns warnings.

    Runs after the sale has committed, so it never raises: a PDF that cannot be rendered
    is written as text beside it (``.txt``), a file that cannot be written is a warning.
    """
    warnings = []
    if path.lower().endswith(".pdf"):
        try:
            write_pdf(r, path)
            return warnings
        except Exception as exc:     # whatever the renderer raises, the customer still gets a receipt
            fallback = path[:-4] + ".txt"
            warnings.append("receipt %s could not be rendered as PDF (%s); writing it as text to %s"
                            % (r["receipt"], exc, fallback))
            path = fallback
    try:
        _write_private(path, text(r).encode("utf-8"))
    except OSError as exc:
        warnings.append("receipt %s was not written to %s (%s); the sale stands: its token is printed above"
                        % (r["receipt"], path, exc.strerror))
    return warnings
