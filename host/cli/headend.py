"""``prepay headend``: the head-end of online meters (docs/headend.md; wiring only, the
work is in ``host.headend``). Operators' commands go through the vending station's
operations (``--server URL`` or local mode), with its roles and audit trail.

Secrets never come from arguments: the keystore passphrase from
``PREPAY_KEYSTORE_PASSPHRASE``, the broker password from ``PREPAY_BROKER_PASSWORD``, SMTP
credentials from ``PREPAY_SMTP_USER``/``PREPAY_SMTP_PASSWORD`` (or prompts).
"""
import datetime
import os

from host.errors import UserError
from host.parse import int_arg, integer
from host.cli.vend.common import cell, common, desk, emit, open_station, operator_row, secret, wrap

ACTIONS = ("supply", "relay", "valve", "keep-supply", "read", "ping", "sync-clock", "send-tariff", "alarm-levels")


def register(sub, name, help_text):
    parser = sub.add_parser(name, help=help_text, description=help_text + ". See docs/headend.md.")
    parser.add_argument("--server", metavar="URL", help="run operators' commands on this vending server "
                        "(default: PREPAY_SERVER; unset: local mode)")
    parser.add_argument("--cacert", metavar="PEM", help="with an https:// server: trust this CA file")
    s = parser.add_subparsers(dest="headend_command", metavar="SUBCOMMAND", required=True)

    p = common(s.add_parser("serve", help="ingest the fleet, raise alarms, notify, publish commands"))
    _broker_options(p)
    p.add_argument("--group", default="headend", help="shared subscription group: workers with the same "
                   "group split the fleet (default headend)")
    p.add_argument("--client-id", help="this worker's MQTT client id (default: headend-HOST-PID); keep it "
                   "across restarts so the broker keeps its session")
    p.add_argument("--silence", type=int_arg, default=3600, metavar="SECONDS",
                   help="communication loss after this silence (default 3600)")
    p.add_argument("--smtp", metavar="HOST:PORT", help="send e-mail notifications through this server")
    p.add_argument("--smtp-from", default="prepay-headend@localhost", metavar="ADDRESS")
    p.add_argument("--smtp-starttls", action="store_true")
    p.add_argument("--alarm-log", metavar="FILE", help="the log channel (alarms nobody subscribed to): "
                   "JSON lines in FILE (default: the console)")
    p.add_argument("--no-delivery", action="store_true", help="do not send sales' tokens to online meters")
    p.add_argument("--report-every", type=int_arg, default=60, metavar="SECONDS")
    p.set_defaults(run=wrap(_serve))

    p = common(s.add_parser("command", help="a signed command to meters (supply and keep-supply need "
                            "--reason; disconnecting several meters waits for a second supervisor)"),
               operator=True)
    p.add_argument("--meter", action="append", required=True, metavar="PAN", help="repeat for several meters")
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("value", nargs="?", help="off|on for supply/relay/valve/keep-supply")
    p.add_argument("--until", metavar="TIME", help="keep-supply on: until this UTC time (YYYY-MM-DD HH:MM)")
    p.add_argument("--obis", action="append", metavar="CODE", help="read: a register (repeat)")
    p.add_argument("--file", metavar="JSON", help="send-tariff, alarm-levels: the table as in the configuration")
    p.add_argument("--at", metavar="TIME", help="send-tariff: activation, UTC (default: now)")
    p.add_argument("--reason", help="why (audited)")
    p.add_argument("--ttl", type=int_arg, default=300, metavar="SECONDS", help="the meter refuses it after this")
    p.add_argument("--wait", type=int_arg, default=0, metavar="SECONDS", help="wait this long for the result")
    p.set_defaults(run=wrap(_command))

    p = common(s.add_parser("confirm", help="confirm (or --reject) a bulk disconnection (a second supervisor)"),
               operator=True)
    p.add_argument("batch", type=int_arg)
    p.add_argument("--reject", action="store_true")
    p.set_defaults(run=wrap(_confirm))

    p = common(s.add_parser("result", help="a command's state and its verified result"))
    p.add_argument("command", type=int_arg)
    p.set_defaults(run=wrap(_result))

    p = common(s.add_parser("alarms", help="open alarms (--all: every one)"))
    p.add_argument("--meter", metavar="PAN")
    p.add_argument("--all", action="store_true")
    p.set_defaults(run=wrap(_alarms))
    for action, helps in (("ack", "acknowledge an alarm with a note"), ("clear", "clear an alarm (supervisor)")):
        p = common(s.add_parser(action, help=helps), operator=True)
        p.add_argument("alarm", type=int_arg)
        p.add_argument("--note", required=True)
        p.set_defaults(run=wrap(_ack if action == "ack" else _clear))

    p = common(s.add_parser("contact", help="who hears of which alarms (supervisor)"), operator=True)
    p.add_argument("--account", help="a customer's account (default: staff, every meter)")
    p.add_argument("--channel", required=True, choices=("email", "webhook", "file", "console"))
    p.add_argument("--address", required=True, help="e-mail address, webhook URL or file")
    p.add_argument("--kinds", default="*", help="comma-separated alarm kinds, or * (default)")
    p.add_argument("--reminder-days", type=int_arg, default=0, help="repeat while unacknowledged (0: never)")
    p.set_defaults(run=wrap(_contact))

    p = common(s.add_parser("meters", help="online meters: presence, last seen, last reading"))
    p.add_argument("--meter", metavar="PAN")
    p.add_argument("--online", type=int_arg, default=0, metavar="N", help="with --wait: until N are online")
    p.add_argument("--wait", type=int_arg, default=0, metavar="SECONDS")
    p.set_defaults(run=wrap(_meters))

    p = common(s.add_parser("delivery", help="how a sale's tokens went over MQTT"))
    p.add_argument("--receipt", type=int_arg, required=True)
    p.add_argument("--wait", type=int_arg, default=0, metavar="SECONDS", help="until the meter answers")
    p.set_defaults(run=wrap(_delivery))

    p = common(s.add_parser("reconcile", help="purchases the meters reported against the ledger (supervisor)"))
    p.add_argument("--since", metavar="DATE")
    p.set_defaults(run=wrap(_reconcile))

    p = common(s.add_parser("broker-config", help="mosquitto's password file, ACL and configuration for "
                            "every meter in the ledger (admin, local mode)"), operator=True)
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--port", type=int_arg, default=1883, help="plain listener, on 127.0.0.1 only")
    p.add_argument("--tls-port", type=int_arg, default=8883)
    p.add_argument("--certs", metavar="DIR", help="ca.pem, server.pem, server.key (default: make a CA "
                   "and a certificate for --host in OUT/certs)")
    p.add_argument("--host", action="append", help="the broker's names for its certificate (default localhost)")
    p.add_argument("--headend-user", default="headend")
    p.add_argument("--gateway-user", help="also a gateway user (PREPAY_GATEWAY_PASSWORD), e.g. the fleet simulator")
    p.set_defaults(run=wrap(_broker_config))


def _broker_options(p):
    p.add_argument("--broker", default="127.0.0.1:1883", metavar="HOST:PORT",
                   help="the MQTT broker (default 127.0.0.1:1883, the loopback listener)")
    p.add_argument("--broker-user", default="headend", help="password from PREPAY_BROKER_PASSWORD")
    p.add_argument("--cafile", metavar="PEM", help="TLS with the broker, trusting this CA")


def host_port(text):
    host, _, port = (text or "").rpartition(":")
    if not host:
        raise UserError("say the broker as HOST:PORT, like 127.0.0.1:1883")
    return host, integer(port, "port", 1, 65535)


def _utc_seconds(text, what):
    from host.parse import date_time
    moment = date_time(text, what, seconds=False, time_optional=True)
    return int((moment - datetime.datetime(1970, 1, 1)).total_seconds())


def _serve(args):
    from host.headend import notify, service
    station = open_station(args)
    host, port = host_port(args.broker)
    smtp = None
    if args.smtp:
        smtp_host, smtp_port = host_port(args.smtp)
        smtp = notify.Email(smtp_host, smtp_port, args.smtp_from, args.smtp_starttls,
                            os.environ.get("PREPAY_SMTP_USER"), os.environ.get("PREPAY_SMTP_PASSWORD"))
    worker = service.Worker(station, host, port, args.broker_user,
                            secret("PREPAY_BROKER_PASSWORD", "Broker password for %s: " % args.broker_user),
                            ca=args.cafile, group=args.group,
                            client_id=args.client_id or "headend-%s-%d" % (os.uname().nodename, os.getpid()),
                            silence_s=args.silence, channels=notify.channels(smtp, args.alarm_log),
                            deliver_sales=not args.no_delivery).start()
    emit(args, ({"serving": True, "broker": args.broker, "group": args.group},
                "head-end serving: broker %s, group %s (Ctrl-C stops)" % (args.broker, args.group)))

    def report(stats):
        emit(args, (stats, " ".join("%s=%s" % kv for kv in sorted(stats.items()))))
    stats = service.run_until_stopped(worker, report, args.report_every)
    return stats, "head-end stopped: " + " ".join("%s=%s" % kv for kv in sorted(stats.items()))


def _command(args):
    import json
    import time
    from host.textfile import read
    action, value, cmd_args = args.action, args.value, []
    if action in ("supply", "relay", "valve", "keep-supply") and value not in ("off", "on"):
        raise UserError("%s needs off or on" % action)
    if action in ("supply", "relay", "valve"):
        cmd, cmd_args = "supply", [value]
    elif action == "keep-supply":
        cmd = "keep-supply"
        if value == "on":
            if not args.until:
                raise UserError("keep-supply on needs --until TIME")
            cmd_args = ["on", str(_utc_seconds(args.until, "--until"))]
        else:
            cmd_args = ["off"]
    elif action == "read":
        cmd, cmd_args = "read", list(args.obis or [])
        if not cmd_args:
            raise UserError("read needs --obis CODE (repeat for more)")
    elif action == "ping":
        cmd = "ping"
    elif action == "sync-clock":
        cmd, cmd_args = "clock", [str(int(time.time()))]
    else:
        if not args.file:
            raise UserError("%s needs --file JSON" % action)
        table = json.dumps(json.loads(read(args.file, action + " file")), sort_keys=True, separators=(",", ":"))
        if action == "send-tariff":
            cmd, cmd_args = "tariff", [table, str(_utc_seconds(args.at, "--at") if args.at else 0)]
        else:
            cmd, cmd_args = "alarm-levels", [table]
    where = desk(args)
    name = "headend_read" if cmd in ("read", "ping") else "headend_command"
    done = where.call(name, meters=args.meter, cmd=cmd, args=cmd_args, reason=args.reason, ttl_s=args.ttl)
    if "batch" in done:
        return done, "bulk disconnection batch %d of %d meters awaits a second supervisor: %s" % (
            done["batch"], done["meters"], done["next"])
    results = []
    deadline = time.monotonic() + args.wait
    for cid in done["commands"]:
        row = where.call("headend_command_show", command=cid)
        while row["state"] in ("queued", "sent") and time.monotonic() < deadline:
            time.sleep(0.1)
            row = where.call("headend_command_show", command=cid)
        results.append(row)
    return {"commands": results}, "\n".join(_command_line(r) for r in results)


def _command_line(row):
    text = "command %d to %s (ctr %d): %s" % (row["id"], row["pan"], row["ctr"], row["state"])
    if row.get("result_code"):
        text += " %s" % row["result_code"]
    if row.get("result_data"):
        text += " " + cell("data", row["result_data"])
    return text


def _confirm(args):
    done = desk(args).call("headend_confirm", batch=args.batch, approve=not args.reject)
    return done, "batch %d %s: %d commands queued" % (done["batch"], done["state"], len(done["commands"]))


def _result(args):
    row = desk(args).call("headend_command_show", command=args.command)
    return row, _command_line(row)


def _table(rows, columns):
    lines = ["  ".join(columns)]
    lines += ["  ".join(cell(c, r.get(c)) for c in columns) for r in rows]
    return "\n".join(lines)


def _alarms(args):
    rows = desk(args).call("headend_alarms", meter=args.meter, open_only=not args.all)
    return rows, _table(rows, ("id", "pan", "kind", "state", "raised_at", "acknowledged_by", "note", "cleared_at"))


def _ack(args):
    done = desk(args).call("headend_alarm_ack", alarm=args.alarm, note=args.note)
    return done, "alarm %d (%s on %s) acknowledged" % (done["alarm"], done["kind"], done["meter"])


def _clear(args):
    done = desk(args).call("headend_alarm_clear", alarm=args.alarm, note=args.note)
    return done, "alarm %d cleared" % done["alarm"]


def _contact(args):
    done = desk(args).call("headend_contact_add", account=args.account, channel=args.channel,
                           address=args.address, kinds=args.kinds, reminder_days=args.reminder_days)
    return done, "contact %d: %s alarms (%s) by %s" % (done["contact"], done["account"] or "staff",
                                                     done["kinds"], done["channel"])


def _meters(args):
    rows = _waiting(args, lambda: desk(args).call("headend_meters", meter=args.meter),
                    lambda rows: sum(r["status"] == "online" for r in rows) >= args.online)
    if sum(r["status"] == "online" for r in rows) < args.online:
        raise UserError("%d meters online, not %d" % (sum(r["status"] == "online" for r in rows), args.online))
    return rows, _table(rows, ("pan", "status", "last_seen", "last_seq", "reading_at", "credit_milli",
                               "supply_state"))


def _waiting(args, fetch, ready):
    """``fetch()`` again every 0.2 s until ``ready`` or ``--wait`` seconds."""
    import time
    deadline = time.monotonic() + args.wait
    found = fetch()
    while not ready(found) and time.monotonic() < deadline:
        time.sleep(0.2)
        found = fetch()
    return found


def _delivery(args):
    done = _waiting(args, lambda: desk(args).call("headend_delivery", receipt=args.receipt),
                    lambda d: all(t["delivery"] not in ("pending", "queued", "sent") for t in d["tokens"]))
    return done, "\n".join("receipt %d token %s (TID %s): %s%s" % (
        done["receipt"], t["token"], t["tid"], t["delivery"], " " + t["result"] if t["result"] else "")
        for t in done["tokens"])


def _reconcile(args):
    from host.cli.vend.common import parse_date
    since = parse_date(args.since, "--since") if args.since else None
    done = desk(args).call("headend_reconcile", since=since)
    lines = ["%d meters, %d tokens matched, %d mismatches" % (done["meters"], done["matched"],
                                                                len(done["problems"]))]
    lines += ["%s TID %s: %s" % (p["meter"], p["tid"], p["problem"]) for p in done["problems"]]
    return done, "\n".join(lines)


def _broker_config(args):
    from host.headend import broker, pki
    if getattr(args, "server", None) or os.environ.get("PREPAY_SERVER"):
        raise UserError("broker-config runs on the station's machine (local mode): it derives every "
                        "meter's broker password")
    station = open_station(args)
    operator_row(station, args, role="admin")
    out = os.path.abspath(args.out)
    certs = ({k: os.path.join(args.certs, f) for k, f in (("ca", "ca.pem"), ("cert", "server.pem"),
                                                          ("key", "server.key"))}
             if args.certs else pki.make(os.path.join(out, "certs"), tuple(args.host or ("localhost", "127.0.0.1"))))
    people = [(args.headend_user, secret("PREPAY_BROKER_PASSWORD", "Broker password for %s: " % args.headend_user))]
    roles = {args.headend_user: "headend"}
    if args.gateway_user:
        people.append((args.gateway_user, secret("PREPAY_GATEWAY_PASSWORD", "Password for %s: " % args.gateway_user)))
        roles[args.gateway_user] = "gateway"
    run_as = "root" if os.geteuid() == 0 else None
    count = broker.write_for_station(station, out, args.port, args.tls_port, certs, people, roles, run_as=run_as)
    station.engine.dispose()
    conf = os.path.join(out, "mosquitto.conf")
    return ({"meters": count, "config": conf, "ca": certs["ca"]},
            "%d meters; start the broker with: mosquitto -c %s" % (count, conf))
