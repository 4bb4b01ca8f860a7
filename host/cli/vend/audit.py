"""``prepay vend audit``: the hash-chained audit log."""

import json

from host.errors import UserError
from host.parse import int_arg, integer
from host.cli.vend.common import common, open_station, table, wrap


def _audit_parser(vend):
    p = vend.add_parser("audit", help="the hash-chained audit log")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = common(s.add_parser("verify", help="check the chain and the sales it vouches for"))
    v.add_argument("--anchor", action="append", default=[], metavar="ID:HASH",
                   help="an entry's hash exported earlier ('audit show' prints the head's): the chain "
                        "must still hold it (repeatable)")
    v.set_defaults(run=wrap(_run_audit_verify))
    sh = common(s.add_parser("show", help="the last entries and the head of the chain (its hash is "
                                          "the anchor to export)"))
    sh.add_argument("--last", type=int_arg, default=20)
    sh.set_defaults(run=wrap(_run_audit_show))


def _run_audit_verify(args):
    from host.vending import audit
    station = open_station(args)
    anchors = dict(_anchor(text) for text in args.anchor)
    with station.engine.connect() as conn:
        problems, count = audit.verify(conn, anchors=anchors)
    data = {"entries": count, "ok": not problems, "problems": problems, "anchors": len(anchors)}
    if problems:
        if args.json:
            print(json.dumps(data, indent=2))
        raise UserError("audit log damaged: %d problem(s); first: %s" % (len(problems), problems[0])
                        if not args.json else "audit log damaged")
    return data, "audit log intact: %d entries, chain and sales verified%s" % (
        count, ", %d anchor(s) held" % len(anchors) if anchors else "")


def _anchor(text):
    entry, _, digest = text.partition(":")
    digest = digest.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise UserError("--anchor %r must look like 1234:<64 hex digits of the entry's hash>" % text)
    return integer(entry, "--anchor entry"), digest


def _run_audit_show(args):
    from sqlalchemy import select
    from host.vending import audit, schema
    station = open_station(args)
    log = schema.audit_log
    with station.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(log.c.id, log.c.at, log.c.operator, log.c.action,
                                                     log.c.subject, log.c.payload)
                                              .order_by(log.c.id.desc()).limit(args.last)).mappings()]
        head = audit.head(conn)
    rows.reverse()
    text = table(rows, ["id", "at", "operator", "action", "subject", "payload"])
    text += "head: entry %d sha256 %s\n" % (head["id"], head["hash"])
    return {"entries": rows, "head": head}, text


def register(vend):
    _audit_parser(vend)
