"""``prepay vend audit``: the hash-chained audit log."""

import json

from host.errors import UserError
from host.parse import int_arg, integer
from host.cli.vend.common import common, desk, table, wrap


def _audit_parser(vend):
    p = vend.add_parser("audit", help="the hash-chained audit log")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = common(s.add_parser("verify", help="check the chain and the sales it vouches for"))
    v.add_argument("--expect-head", "--anchor", dest="anchor", action="append", default=[], metavar="ID:HASH",
                   help="a head exported earlier ('audit head' prints it): the chain must still hold "
                        "that entry with that hash (repeatable)")
    v.set_defaults(run=wrap(_run_audit_verify))
    sh = common(s.add_parser("show", help="the last entries and the head of the chain (its hash is "
                                          "the anchor to export)"))
    sh.add_argument("--last", type=int_arg, default=20)
    sh.set_defaults(run=wrap(_run_audit_show))
    hd = common(s.add_parser("head", help="the chain's head as ID:HASH, to keep outside the station "
                                          "(verify --expect-head takes it)"))
    hd.set_defaults(run=wrap(_run_audit_head))


def _run_audit_verify(args):
    anchors = dict(_anchor(text) for text in args.anchor)
    found = desk(args).call("audit_verify", anchors=anchors)
    problems, count = found["problems"], found["entries"]
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
    where = desk(args)
    tail = where.call("audit_show", last=args.last)
    head = tail["head"]
    return tail, table(tail["entries"], ["id", "at", "operator", "action", "subject", "payload"],
                       where.zone()) + "head: entry %d sha256 %s\n" % (head["id"], head["hash"])


def _run_audit_head(args):
    head = desk(args).call("audit_head")
    return head, "%d:%s\n" % (head["id"], head["hash"])


def register(vend):
    _audit_parser(vend)
