"""``prepay vend sell`` and ``prepay vend reprint``: a sale and its receipt."""

from host.errors import UserError
from host.cli.vend.common import common, open_station, operator_row, wrap


def _receipt_file_arg(p):
    p.add_argument("--receipt-file", metavar="PATH", help="also write the receipt to PATH (.pdf for PDF, "
                                                          "anything else for text)")


def _sell(vend):
    p = common(vend.add_parser("sell", help="sell credit to a meter and print the receipt"), operator=True)
    p.add_argument("--meter", required=True, help="meter number (PAN)")
    p.add_argument("--amount", required=True, help="amount tendered, e.g. 100.00")
    p.add_argument("--channel", required=True, choices=("cash", "bank", "mobile", "card"))
    p.add_argument("--ref", help="payment reference: a retry with the same reference vends nothing twice")
    _receipt_file_arg(p)
    p.set_defaults(run=wrap(_run_sell))


def _write_receipt(data, path):
    from host.vending import receipts
    if not path:
        return
    try:
        if path.lower().endswith(".pdf"):
            receipts.write_pdf(data, path)
        else:
            with open(path, "w") as handle:
                handle.write(receipts.text(data))
    except OSError as exc:
        raise UserError("the sale is recorded (receipt %s) but the receipt file could not be written: %s"
                        % (data["receipt"], exc.strerror))


def _run_sell(args):
    from host.vending import receipts, sales
    from host.vending.money import cents
    amount = cents(args.amount)
    station = open_station(args)
    operator = operator_row(station, args, "clerk")
    data = sales.sell(station, operator, args.meter, amount, args.channel, reference=args.ref)
    _write_receipt(data, args.receipt_file)
    return data, receipts.text(data)


def _reprint(vend):
    p = common(vend.add_parser("reprint", help="print a past receipt again (same tokens, no new TID)"),
                operator=True)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--receipt", type=int, help="receipt number")
    which.add_argument("--meter", help="the meter's last sale")
    _receipt_file_arg(p)
    p.set_defaults(run=wrap(_run_reprint))


def _run_reprint(args):
    from host.vending import receipts, sales
    station = open_station(args)
    operator = operator_row(station, args, "clerk")
    data = sales.reprint(station, operator, sale_id=args.receipt, pan=args.meter)
    _write_receipt(data, args.receipt_file)
    return data, receipts.text(data)


def register(vend):
    _sell(vend)
    _reprint(vend)
