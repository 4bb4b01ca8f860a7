"""``prepay vend payments``: vending from bank and mobile-money statements."""

import os

from host.cli.vend.common import common, open_station, operator_row, wrap


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
    from host.vending import payments, receipts
    station = open_station(args)
    operator = operator_row(station, args, "clerk")
    result = payments.import_statement(station, operator, args.file, args.source)
    if args.receipts_dir:
        os.makedirs(args.receipts_dir, exist_ok=True)
        for line in result["vended"]:
            with open(os.path.join(args.receipts_dir, "receipt-%d.txt" % line["receipt"]), "w") as handle:
                handle.write(receipts.text(line["sale"]))
    for line in result["vended"]:
        line.pop("sale", None)
    text = ["statement %s: %d lines, %d vended, %d already done, %d unmatched, %d failed" % (
        args.file, result["lines"], len(result["vended"]), len(result["skipped"]), len(result["unmatched"]),
        len(result["failed"]))]
    for line in result["vended"]:
        text.append("  vended   %-16s receipt %d  %s" % (line["reference"], line["receipt"], " / ".join(line["tokens"])))
    for line in result["unmatched"]:
        text.append("  UNMATCHED %-15s account %s amount %s: %s" % (line["reference"], line["account"],
                                                                     line["amount"], line["note"]))
    for line in result["failed"]:
        text.append("  FAILED   %-16s %s" % (line["reference"], line["note"]))
    return result, "\n".join(text)


def register(vend):
    _payments(vend)
