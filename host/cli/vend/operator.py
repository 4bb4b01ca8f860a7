"""``prepay vend operator``: operators and their roles."""

from host.cli.vend.common import common, desk, new_secret, operator_row, table, wrap


def _operator(vend):
    p = vend.add_parser("operator", help="operators and roles")
    s = p.add_subparsers(dest="operator_command", metavar="ACTION", required=True)
    a = common(s.add_parser("add", help="add an operator (the first one must be an admin; later ones "
                                         "need an admin's --operator). Password from "
                                         "PREPAY_NEW_OPERATOR_PASSWORD or a prompt"), operator=True)
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=("clerk", "supervisor", "admin", "technician"),
                   help="technician: provisions and commissions meters, nothing else")
    a.set_defaults(run=wrap(_run_operator_add))
    l = common(s.add_parser("list", help="list operators"))
    l.set_defaults(run=wrap(_run_operator_list))
    d = common(s.add_parser("disable", help="disable an operator (admin)"), operator=True)
    d.add_argument("name")
    d.set_defaults(run=wrap(_run_operator_disable))
    for action, what in (("enable", "enable a disabled operator (admin; a supervisor or admin is approved "
                                    "again)"),
                         ("approve", "approve a new supervisor or admin account (a second admin)")):
        e = common(s.add_parser(action, help=what), operator=True)
        e.add_argument("name")
        e.set_defaults(run=wrap(_run_operator_change), action=action)


def _new_password(name):
    return new_secret("PREPAY_NEW_OPERATOR_PASSWORD", "New password for %s: " % name)


def _run_operator_add(args):
    from pydantic import SecretStr
    from host.vending import office
    where = desk(args)
    params = {"name": args.name, "role": args.role}
    if where.local:         # the first operator is added here, by nobody, as an admin
        station = where.station
        actor = operator_row(station, args, "admin") if office.admin_needed(station, args.role) else None
        done = where.call_as(actor, "operator_add", password=SecretStr(_new_password(args.name)), **params)
    else:
        done = where.call("operator_add", password=SecretStr(_new_password(args.name)), **params)
    return done, "operator %s added as %s" % (args.name, args.role)


def _run_operator_list(args):
    where = desk(args)
    rows = where.call("operator_list")
    return rows, table(rows, ["name", "role", "active", "created_at"], where.zone())


def _run_operator_disable(args):
    done = desk(args).call("operator_disable", name=args.name)
    return done, "operator %s disabled" % args.name


def _run_operator_change(args):
    done = desk(args).call("operator_" + args.action, name=args.name)
    return done, "operator %s: %s" % (args.name, done.get("state", "active"))


def register(vend):
    _operator(vend)
