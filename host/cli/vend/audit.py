"""``prepay vend audit``: the hash-chained audit log."""

import json

from host.errors import UserError
from host.cli.vend.common import common, open_station, table, wrap


def _audit_parser(vend):
    p = vend.add_parser("audit", help="the hash-chained audit log")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = common(s.add_parser("verify", help="check the chain and the sales it vouches for"))
    v.set_defaults(run=wrap(_run_audit_verify))
    sh = common(s.add_parser("show", help="the last entries"))
    sh.add_argument("--last", type=int, default=20)
    sh.set_defaults(run=wrap(_run_audit_show))


def _run_audit_verify(args):
    from host.vending import audit
    station = open_station(args)
    with station.engine.connect() as conn:
        problems, count = audit.verify(conn)
    data = {"entries": count, "ok": not problems, "problems": problems}
    if problems:
        if args.json:
            print(json.dumps(data, indent=2))
        raise UserError("audit log damaged: %d problem(s); first: %s" % (len(problems), problems[0])
                        if not args.json else "audit log damaged")
    return data, "audit log intact: %d entries, chain and sales verified" % count


def _run_audit_show(args):
    from sqlalchemy import select
    from host.vending import schema
    station = open_station(args)
    log = schema.audit_log
    with station.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(log.c.id, log.c.at, log.c.operator, log.c.action,
                                                     log.c.subject, log.c.payload)
                                              .order_by(log.c.id.desc()).limit(args.last)).mappings()]
    rows.reverse()
    return rows, table(rows, ["id", "at", "operator", "action", "subject", "payload"])


def register(vend):
    _audit_parser(vend)
