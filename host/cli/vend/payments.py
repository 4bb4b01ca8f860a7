"""``prepay vend payments``: vending from bank and mobile-money statements."""

import os

from host.errors import UserError
from host.cli.vend.common import common, desk, emit, warn, wrap


def _payments(vend):
    p = vend.add_parser("payments", help="bank and mobile-money statements")
    s = p.add_subparsers(dest="payments_command", metavar="ACTION", required=True)
    i = common(s.add_parser("import", help="vend every matched line of a CSV statement once"), operator=True)
    i.add_argument("file")
    i.add_argument("--source", required=True, help="statement source, e.g. bank-kcb or mpesa; a line "
                                                  "is vended once per (source, reference)")
    i.add_argument("--receipts-dir", help="write each new sale's receipt there as text")
    i.set_defaults(run=wrap(_run_payments_import))


def _run_payments_import(args):
    """Each line is printed as it is done (a sold line with its tokens), its receipt written
    at once; the summary comes last, and with --json everything at the end."""
    from host import textfile
    from host.vending import payments, receipts
    where = desk(args)
    statement = textfile.read(args.file, "statement")
    if args.receipts_dir:
        try:
            os.makedirs(args.receipts_dir, exist_ok=True)
        except OSError as exc:
            raise UserError("cannot make the receipts folder %s: %s" % (args.receipts_dir, exc.strerror))
    summary = payments.new_summary(args.source)
    warnings = []
    try:
        for done in where.call("payments_import", name=args.file, text=statement, source=args.source):
            status, line = done["status"], done["line"]
            sale = line.pop("sale", None)
            payments.tally(summary, status, line)
            if not args.json and status != "skipped":
                emit(args, (None, _describe(status, line)))
            if sale is not None and args.receipts_dir:
                path = os.path.join(args.receipts_dir, "receipt-%d.txt" % sale["receipt"])
                warnings += receipts.save(sale, path)
            if line.get("note") and status in ("vended", "skipped"):
                warnings.append("%s: %s" % (line["reference"], line["note"]))
    finally:
        for message in warnings:
            warn(message)
    text = "statement %s: %d lines, %d vended, %d already done, %d unmatched, %d failed" % (
        args.file, summary["lines"], len(summary["vended"]), len(summary["skipped"]), len(summary["unmatched"]),
        len(summary["failed"]))
    return summary, text


def _describe(status, line):
    from host.vending.text import shown
    ref = shown(line["reference"])
    if status == "vended":
        return "  vended    %-16s receipt %d  %s" % (ref, line["receipt"], " / ".join(line["tokens"]))
    if status == "unmatched":
        return "  UNMATCHED %-16s account %s amount %s: %s" % (ref, shown(line["account"]), shown(line["amount"]),
                                                               shown(line["note"]))
    return "  FAILED    %-16s line %d: %s" % (ref, line["line"], shown(line["note"]))


def register(vend):
    _payments(vend)
