"""``prepay vend operator``: operators and their roles."""

import getpass
import os
import sys

from host.errors import UserError
from host.cli.vend.common import audit_entry, common, open_station, operator_row, table, wrap


def _operator(vend):
    p = vend.add_parser("operator", help="operators and roles")
    s = p.add_subparsers(dest="operator_command", metavar="ACTION", required=True)
    a = common(s.add_parser("add", help="add an operator (the first one must be an admin; later ones "
                                         "need an admin's --operator). Password from "
                                         "PREPAY_NEW_OPERATOR_PASSWORD or a prompt"), operator=True)
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=("clerk", "supervisor", "admin"))
    a.set_defaults(run=wrap(_run_operator_add))
    l = common(s.add_parser("list", help="list operators"))
    l.set_defaults(run=wrap(_run_operator_list))
    d = common(s.add_parser("disable", help="disable an operator (admin)"), operator=True)
    d.add_argument("name")
    d.set_defaults(run=wrap(_run_operator_disable))


def _new_password(name):
    value = os.environ.get("PREPAY_NEW_OPERATOR_PASSWORD")
    if value:
        return value
    if not sys.stdin.isatty():
        raise UserError("PREPAY_NEW_OPERATOR_PASSWORD is not set and there is no terminal to ask")
    first = getpass.getpass("New password for %s: " % name)
    if getpass.getpass("Repeat: ") != first:
        raise UserError("the passwords differ")
    return first


def _run_operator_add(args):
    from host.vending import operators
    station = open_station(args)
    with station.engine.connect() as conn:
        first = operators.count(conn) == 0
    if first:
        if args.role != "admin":
            raise UserError("the first operator must be an admin (--role admin)")
        actor = "-"
    else:
        actor = operator_row(station, args, "admin")["name"]
    password = _new_password(args.name)
    with station.begin() as conn:
        operators.add(conn, args.name, args.role, password, station.clock())
        audit_entry(conn, station, actor, "operator_add", args.name, {"role": args.role})
    return {"operator": args.name, "role": args.role}, "operator %s added as %s" % (args.name, args.role)


def _run_operator_list(args):
    from host.vending import operators
    station = open_station(args)
    with station.engine.connect() as conn:
        rows = operators.listing(conn)
    return rows, table(rows, ["name", "role", "active", "created_at"])


def _run_operator_disable(args):
    from host.vending import operators
    station = open_station(args)
    actor = operator_row(station, args, "admin")
    with station.begin() as conn:
        operators.set_active(conn, args.name, False)
        audit_entry(conn, station, actor["name"], "operator_disable", args.name, {})
    return {"operator": args.name, "active": False}, "operator %s disabled" % args.name


def register(vend):
    _operator(vend)
