"""``prepay vend sell`` and ``prepay vend reprint``: a sale and its receipt."""

from host.parse import int_arg
from host.cli.vend.common import common, desk, emit, warn, wrap


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


def _deliver(args, data):
    """After the commit: the token is on the screen before anything that could fail runs,
    and whatever fails afterwards is a warning (a clerk who saw an error might sell again)."""
    from host.vending import receipts
    warnings = []
    try:
        text = receipts.text(data)
    except Exception as exc:         # a receipt that cannot be laid out still shows its tokens
        text = "\n".join(["receipt %s" % data["receipt"]] + receipts.token_lines(data))
        warnings.append("receipt %s could not be laid out (%s); its tokens are above" % (data["receipt"], exc))
    emit(args, (data, text))
    if args.receipt_file:
        warnings += receipts.save(data, args.receipt_file)
    for message in warnings:
        warn(message)


def _run_sell(args):
    from host.parse import money
    amount = money(args.amount)
    data = desk(args).call("sell", meter=args.meter, amount_cents=amount, channel=args.channel, reference=args.ref)
    _deliver(args, data)
    if data.get("duplicate"):
        warn("payment reference %s was sold before: this is receipt %s again, nothing new was sold"
             % (args.ref, data["receipt"]))


def _reprint(vend):
    p = common(vend.add_parser("reprint", help="print a past receipt again (same tokens, no new TID)"),
                operator=True)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--receipt", type=int_arg, help="receipt number")
    which.add_argument("--meter", help="the meter's last sale")
    _receipt_file_arg(p)
    p.set_defaults(run=wrap(_run_reprint))


def _run_reprint(args):
    data = desk(args).call("reprint", receipt=args.receipt, meter=args.meter)
    _deliver(args, data)


def register(vend):
    _sell(vend)
    _reprint(vend)
