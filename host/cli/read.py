"""``prepay read``: read a meter through its optical port (IEC 62056-21 mode C), and a
technician's programming jobs.

    prepay read --port PORT [--address ADDR] [--json | --csv] [--obis CODE,CODE]
    prepay read events | set-clock | set-tariff | send-token | set-password | write  --port PORT ...
    prepay read route --port PORT ... | --list FILE  --out ROUTE.csv

PORT is a device (/dev/ttyUSB0, the simulator's pty) or a pyserial URL (socket://,
rfc2217://). Programming needs the meter's password: from the environment variable
PREPAY_METER_PASSWORD, else asked for (never on the command line); set-password's new
one likewise from PREPAY_METER_NEW_PASSWORD or asked for twice.
"""
import argparse
import getpass
import json
import os
import sys

from host import textfile
from host.errors import UserError
from host.parse import int_arg, wait_arg
from host.readout import jobs

PASSWORD_ENV = "PREPAY_METER_PASSWORD"
NEW_PASSWORD_ENV = "PREPAY_METER_NEW_PASSWORD"


def password(env=PASSWORD_ENV, what="the meter's password", twice=False):
    text = os.environ.get(env)
    if text:
        return text
    if not sys.stdin.isatty():
        raise UserError("%s: set %s or run in a terminal to be asked" % (what, env))
    text = getpass.getpass(what + ": ")
    if twice and getpass.getpass("again: ") != text:
        raise UserError("the two entries differ")
    return text


def port(args):
    if args.port is None:
        raise UserError("give the meter's port: --port /dev/ttyUSB0 (or a socket:// URL)")
    return args.port


def options(args):
    return {"timeout": args.timeout, "echo": args.echo, "switch_delay": args.switch_delay,
            "retries": args.retries}


def print_rows(rows, args):
    if args.json:
        print(json.dumps({r["obis"]: {"value": r["value"], "unit": r["unit"]} for r in rows},
                         indent=1))
    elif args.csv:
        import csv
        w = csv.writer(sys.stdout)
        w.writerow(("obis", "value", "unit", "meaning"))
        for r in rows:
            w.writerow((r["obis"], r["value"], r["unit"], r["meaning"]))
    else:
        for r in rows:
            print("%-14s %16s %-4s %s" % (r["obis"], r["value"], r["unit"], r["meaning"]))


def say(args, data, text):
    """A job's result: ``data`` as JSON with --json, else ``text``."""
    print(json.dumps(data) if args.json else text)


def run_readout(args):
    port(args)
    if args.obis:
        codes = [c.strip() for c in args.obis.split(",") if c.strip()]
        rows = jobs.read_codes(args.port, codes, password(), args.address, **options(args))
    else:
        rows = jobs.readout(args.port, args.address, **options(args))
    print_rows(rows, args)


def run_events(args):
    found = jobs.events(port(args), password(), args.count, args.address, **options(args))
    if args.json:
        print(json.dumps(found, indent=1))
        return
    for e in found:
        print("%6d  %s  %-8s %-22s %d" % (e["seq"], e["time"], e["kind"], e["detail"],
                                          e["value"]))


def run_set_clock(args):
    now = jobs.set_clock(port(args), password(), args.time, args.address, **options(args))
    say(args, {"clock": jobs.iso(now)}, "meter clock set: %s" % jobs.iso(now))


def run_set_tariff(args):
    table = textfile.read_json(args.table, "tariff table")
    pending = jobs.set_tariff(port(args), password(), table, args.start, args.address,
                              **options(args))
    say(args, {"start": jobs.iso(pending[:12]), "table": pending[13:]},
        "pending tariff from %s: %s" % (jobs.iso(pending[:12]), pending[13:]))


def run_send_token(args):
    accepted, result = jobs.send_token(port(args), password(), args.token, args.address,
                                       **options(args))
    say(args, {"accepted": accepted, "result": result},
        "token %s: %s" % ("accepted" if accepted else "refused", result))
    return 0 if accepted else 1


def run_set_password(args):
    current = password()
    new = password(NEW_PASSWORD_ENV, "the new %s password" % args.level, twice=True)
    jobs.set_password(port(args), current, args.level, new, args.address, **options(args))
    say(args, {"level": args.level, "changed": True},
        "%s password changed: the meter asks for the new one from the next sign-on"
        % args.level)


def run_write(args):
    jobs.write(port(args), password(), args.obis, args.value, args.address, **options(args))
    say(args, {"obis": args.obis, "value": args.value}, "written: %s(%s)" % (args.obis, args.value))


def run_route(args):
    from tqdm import tqdm
    targets = [(p, args.address) for p in (args.ports or []) + ([args.port] if args.port else [])]
    if args.list:
        for line in textfile.read(args.list, "meter list").splitlines():
            words = line.split("#")[0].split()
            if words:
                targets.append((words[0], words[1] if len(words) > 1 else ""))
    if not targets:
        raise UserError("give the meters: --port PORT (repeat it) or --list FILE")
    bar = tqdm(total=len(targets), unit="meter", file=sys.stderr)

    def progress(target, ok):
        bar.set_postfix_str("%s %s" % (target[0], "ok" if ok else "FAILED"))
        bar.update(1)
    try:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            done, failed = jobs.route(targets, out, progress, **options(args))
    except OSError as exc:
        raise UserError("cannot write %s: %s" % (args.out, exc.strerror))
    finally:
        bar.close()
    say(args, {"read": done, "failed": failed, "out": args.out},
        "route: %d read, %d failed -> %s" % (done, failed, args.out))
    return 1 if failed else 0


def common(parser, suppress, port=True):
    """Options every form takes (a subcommand's do not override the main parser's)."""
    default = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    if port:
        parser.add_argument("--port", default=default(None), metavar="PORT",
                            help="device path or pyserial URL of the optical head")
    parser.add_argument("--address", default=default(""),
                        help="device address for /?ADDRESS! (a meter on a shared bus)")
    parser.add_argument("--timeout", type=wait_arg, default=default(3.0), metavar="S",
                        help="seconds to wait for each answer (default 3)")
    parser.add_argument("--retries", type=int_arg, default=default(2), metavar="N",
                        help="sign-ons sent again when nothing answers (default 2)")
    parser.add_argument("--echo", choices=("auto", "on", "off"), default=default("auto"),
                        help="the optical head echoes what is sent (default: found out)")
    parser.add_argument("--switch-delay", type=wait_arg, default=default(0.0), metavar="S",
                        help="pause after the baud switch, for slow USB converters")


def register(sub, name, help_text):
    p = sub.add_parser(name, help=help_text, description=__doc__.split("\n\n")[0],
                       epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p, False)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object keyed by OBIS code")
    out.add_argument("--csv", action="store_true", help="CSV: obis,value,unit,meaning")
    p.add_argument("--obis", metavar="CODES", help="read just these codes (comma-separated) "
                   "through programming mode")
    p.set_defaults(run=run_readout)
    jobs_parser = p.add_subparsers(dest="job", metavar="[JOB]", title="jobs (optional: without "
                                   "one, the meter's readout)")

    def job(job_name, run, help_text):
        q = jobs_parser.add_parser(job_name, help=help_text, description=help_text)
        common(q, True, job_name != "route")
        q.add_argument("--json", action="store_true", help="the result as JSON")
        q.set_defaults(run=run)
        return q

    q = job("events", run_events, "the meter's event log, newest first")
    q.add_argument("--count", type=int_arg, default=0, help="only the newest N")
    q = job("set-clock", run_set_clock, "set the meter's clock (local time)")
    q.add_argument("--time", default="now", help="2026-11-23T08:00[:SS] or now (default)")
    q = job("set-tariff", run_set_tariff,
            "load a tariff table that takes over at a given time")
    q.add_argument("--table", required=True, metavar="TABLE.json",
                   help='a tariff table as in meter.json, e.g. {"kind": "flat", "prices": [...]}')
    q.add_argument("--start", required=True, help="when it takes over: 2026-12-01T00:00")
    q = job("send-token", run_send_token, "deliver an STS token through the optical port")
    q.add_argument("token", help="the 20 digits (spaces or dashes allowed)")
    q = job("set-password", run_set_password,
            "give the meter a new reader or technician password (technician's session)")
    q.add_argument("--level", required=True, choices=("reader", "technician"))
    q = job("write", run_write, "write one setting: W1 OBIS(VALUE), see docs/obis.md")
    q.add_argument("obis")
    q.add_argument("value")
    q = job("route", run_route, "read a route of meters one after another into one CSV")
    q.add_argument("--port", action="append", dest="ports", metavar="PORT",
                   help="a meter's port (repeat it)")
    q.add_argument("--list", metavar="FILE", help="lines 'PORT [ADDRESS]'")
    q.add_argument("--out", required=True, metavar="ROUTE.csv")
