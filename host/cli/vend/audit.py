"""``prepay vend audit``: the keyed, hash-chained audit log, its exported heads and checkpoints."""

import json

from host.errors import UserError
from host.parse import int_arg
from host.cli.vend.common import common, desk, table, wrap


def _audit_parser(vend):
    p = vend.add_parser("audit", help="the hash-chained audit log")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = common(s.add_parser("verify", help="check the chain, its keys and the records it vouches for"))
    v.add_argument("--expect-head", "--anchor", dest="anchor", action="append", default=[], metavar="ID:HASH",
                   help="a head exported earlier ('audit head' prints it; a bare HASH is looked for "
                        "anywhere): the chain must still hold that entry with that hash (repeatable)")
    v.add_argument("--checkpoints", metavar="PATH", help="a checkpoint file or folder the station wrote "
                   "('serve --checkpoints', 'audit checkpoint'): every line must be in the chain")
    v.set_defaults(run=wrap(_run_audit_verify))
    sh = common(s.add_parser("show", help="the last entries and the head of the chain (its hash is "
                                          "the anchor to export)"))
    sh.add_argument("--last", type=int_arg, default=20)
    sh.set_defaults(run=wrap(_run_audit_show))
    hd = common(s.add_parser("head", help="the chain's head as ID:HASH, to keep outside the station "
                                          "(verify --expect-head takes it)"))
    hd.set_defaults(run=wrap(_run_audit_head))
    cp = common(s.add_parser("checkpoint", help="append the keyed head to the checkpoint file or folder now "
                                                "(supervisor; through a server: the server's --checkpoints)"),
                operator=True)
    cp.add_argument("--to", metavar="PATH", help="local mode: the checkpoint file or folder (default: "
                    "PREPAY_AUDIT_CHECKPOINTS)")
    cp.set_defaults(run=wrap(_run_audit_checkpoint))


def _run_audit_verify(args):
    from host.vending.office import checkpoint_lines
    heads = [_head(text) for text in args.anchor]
    lines = checkpoint_lines(args.checkpoints) if args.checkpoints else []
    found = desk(args).call("audit_verify", heads=heads, checkpoints=lines)
    problems, count = found["problems"], found["entries"]
    data = {"entries": count, "ok": not problems, "problems": problems, "anchors": len(heads),
            "checkpoints": len(lines)}
    if problems:
        if args.json:
            print(json.dumps(data, indent=2))
        raise UserError("audit log damaged: %d problem(s); first: %s" % (len(problems), problems[0])
                        if not args.json else "audit log damaged")
    held = (["%d exported head(s) held" % len(heads)] if heads else []) + (
        ["%d checkpoint(s) held" % len(lines)] if lines else [])
    return data, "audit log intact: %d entries, chain and sales verified%s" % (
        count, "".join(", " + h for h in held))


def _head(text):
    from host.vending.errors import VendError
    from host.vending.office import parse_head
    try:
        return parse_head(text)
    except VendError:
        raise UserError("--expect-head %r must look like 1234:<64 hex digits> (what 'audit head' prints)" % text)


def _run_audit_show(args):
    where = desk(args)
    tail = where.call("audit_show", last=args.last)
    head = tail["head"]
    return tail, table(tail["entries"], ["id", "at", "operator", "action", "subject", "payload"],
                       where.zone()) + "head: entry %d sha256 %s\n" % (head["id"], head["hash"])


def _run_audit_head(args):
    head = desk(args).call("audit_head")
    return head, "%d:%s\n" % (head["id"], head["hash"])


def _run_audit_checkpoint(args):
    where = desk(args)
    if args.to:
        if not where.local:
            raise UserError("--to is for local mode: the server appends to its own --checkpoints")
        where.station.checkpoints = args.to
    done = where.call("audit_checkpoint")
    return done, "checkpoint appended to %s: %d:%s\n" % (done["path"], done["id"], done["hash"])


def register(vend):
    _audit_parser(vend)
