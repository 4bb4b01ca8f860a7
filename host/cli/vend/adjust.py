"""``prepay vend adjust``: refunds, offsets and credit adjustments under dual confirmation."""

from host.errors import UserError
from host.parse import int_arg
from host.cli.vend.common import common, desk, table, token_digits, wrap


def _adjust(vend):
    p = vend.add_parser("adjust", help="refunds, offsets and credit adjustments (need a supervisor's "
                                       "confirmation)")
    s = p.add_subparsers(dest="adjust_command", metavar="ACTION", required=True)
    r = common(s.add_parser("request", help="enter a pending adjustment"), operator=True)
    r.add_argument("--kind", required=True, choices=("refund", "offset", "credit"))
    r.add_argument("--receipt", type=int_arg, help="the sale a refund reverses")
    r.add_argument("--account", help="customer account (offset)")
    r.add_argument("--meter", help="meter to credit (credit)")
    r.add_argument("--amount", help="money amount (refund, offset; offset may be negative)")
    r.add_argument("--units", help="units to credit (credit), e.g. 25.0")
    r.add_argument("--reason", required=True)
    r.set_defaults(run=wrap(_run_adjust_request))
    for action in ("confirm", "reject"):
        c = common(s.add_parser(action, help="%s a pending adjustment (supervisor, not the requester)" % action),
                    operator=True)
        c.add_argument("id", type=int_arg)
        c.set_defaults(run=wrap(_run_adjust_decide), action=action)
    l = common(s.add_parser("list", help="list adjustments"))
    l.add_argument("--pending", action="store_true")
    l.set_defaults(run=wrap(_run_adjust_list))


# what each kind of adjustment takes; a flag another kind takes would be ignored: refused
KIND_FLAGS = {"refund": ("receipt", "amount"), "offset": ("account", "amount"),
              "credit": ("meter", "units")}


def _run_adjust_request(args):
    from host.parse import fixed, money
    for name in ("receipt", "account", "meter", "amount", "units"):
        if getattr(args, name) is not None and name not in KIND_FLAGS[args.kind]:
            raise UserError("--kind %s takes %s, not --%s" % (
                args.kind, " and ".join("--" + f for f in KIND_FLAGS[args.kind]), name))
    amount = money(args.amount, "amount", negative=args.kind == "offset") if args.amount else 0
    units = fixed(args.units, 1, "units", example="25.0") if args.units else 0
    row = desk(args).call("adjust_request", kind=args.kind, reason=args.reason, receipt=args.receipt,
                          account=args.account, meter=args.meter, amount_cents=amount, units_tenths=units)
    return row, "adjustment %d (%s) is pending until a supervisor confirms it" % (row["id"], args.kind)


def _run_adjust_decide(args):
    row = desk(args).call("adjust_decide", id=args.id, confirm=args.action == "confirm")
    text = "adjustment %d %s" % (row["id"], row["status"])
    if row.get("token"):
        text += "\ncredit token for meter %s: %s (TID %d)" % (row["token"]["meter"], token_digits(row["token"]["digits"]),
                                                             row["token"]["tid"])
    return row, text


def _run_adjust_list(args):
    where = desk(args)
    rows = where.call("adjust_list", pending=args.pending)
    return rows, table(rows, ["id", "kind", "status", "account", "sale_id", "amount_cents", "units_tenths",
                              "requested_by", "requested_at", "confirmed_by", "reason"], where.zone())


def register(vend):
    _adjust(vend)
