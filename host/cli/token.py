"""``prepay token``: encode, decode and build STS tokens, for support engineers."""
import json
import os
import re
import sys

from host.cli.vocabulary import flag, old_names
from host.errors import UserError
from host.parse import arg, date_time, fixed, format_fixed, int_arg, integer, number_and_unit
from host.textfile import read_stream
from tokens import sts
from tokens.digits import extract_class, parse_digits
from tokens.meter_tests import CONTROL_BITS, control_of
from tokens.names import METER_TESTS, describe_control
from tokens.tid import next_tid, tid_at, tid_time

KEY_ENV = "PREPAY_DECODER_KEY"


def hex_bytes(text, what="key"):
    text = text.strip().replace(" ", "")
    if len(text) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", text):
        raise UserError("%s must be hex digits (an even number of them): %r" % (what, text))
    return bytes.fromhex(text)


def decoder_key(args):
    text = args.key or os.environ.get(KEY_ENV)
    if not text:
        raise UserError("give the decoder key with --key HEX or %s" % KEY_ENV)
    key = hex_bytes(text)
    sts.check_key(key, args.algorithm)
    return key


def parse_time(text):
    """'2026-11-23T08:00' or '2026-11-23 08:00' -> (y, mo, d, h, mi)."""
    when = date_time(text, "--issued", seconds=False)
    return when.year, when.month, when.day, when.hour, when.minute


def token_tid(args):
    if args.tid is not None:
        if args.last_tid is not None:
            raise UserError("--last-tid goes with --issued (--tid gives the TID itself)")
        return args.tid
    when = parse_time(args.issued)
    if args.last_tid is not None:
        return next_tid(args.base_date, *when, args.last_tid)
    return tid_at(args.base_date, *when)


def describe(token_class, subclass, fields, tid, base_date=None):
    """Human meaning of decoded fields, for text and JSON output alike."""
    meaning = {"type": sts.TOKEN_NAMES.get((token_class, subclass), "reserved")}
    if token_class == sts.CLASS_CREDIT:
        if fields["currency"]:
            meaning["amount"] = format_fixed(fields["value"], 5)
            meaning["unit"] = "currency"
        else:
            meaning["amount"] = format_fixed(fields["value"], 1)
            meaning["unit"] = sts.UNIT_NAMES[subclass]
        meaning["utility"] = fields["utility"]
    elif "unit" in fields:
        meaning["amount"] = str(fields["value"])
        meaning["unit"] = fields["unit"]
    elif "control" in fields:               # InitiateMeterTest/Display
        meaning["tests"] = describe_control(fields["control"])
        code = fields["manufacturer_code"]
        meaning["meters"] = ("every meter" if code == 0 else "manufacturer %0*d only"
                             % (fields["mfr_digits"], code))
    if tid is not None and base_date:
        meaning["issued"] = "%04d-%02d-%02dT%02d:%02d" % tid_time(base_date, tid)
    return meaning


def token_record(token_class, subclass, block, tid, fields, digits, base_date=None):
    record = {"token": digits, "grouped": sts.format_digits(digits), "class": token_class,
              "subclass": subclass, "block": "%016x" % block, "crc_ok": True}
    if tid is not None:
        record["tid"] = tid
    record["fields"] = {k: ("%08x" % v if k == "key_part" else v) for k, v in fields.items()}
    record["meaning"] = describe(token_class, subclass, fields, tid, base_date)
    return record


def issued_record(issued, args):
    decoded = sts.decode(issued.digits, getattr(args, "key_bytes", None), args.algorithm)
    return token_record(decoded.token_class, decoded.subclass, decoded.block, decoded.tid,
                        decoded.fields, decoded.digits, getattr(args, "base_date", None))


def print_records(records, as_json):
    if as_json:
        print(json.dumps(records[0] if len(records) == 1 else records))
        return
    for record in records:
        meaning = record["meaning"]
        extra = " ".join(str(meaning[k]) for k in ("amount", "unit") if k in meaning)
        if "tests" in meaning:
            extra = "%s (%s)" % (meaning["tests"], meaning["meters"])
        print("%s  %s%s" % (record["grouped"], meaning["type"], ("  " + extra) if extra else ""))


def run_decode(args):
    token_class = extract_class(parse_digits(args.token))[0]
    key = None if token_class == sts.CLASS_NON_METER else decoder_key(args)
    try:
        decoded = sts.decode(args.token, key, args.algorithm)
    except sts.DecodeError as exc:
        raise UserError("%s (result: %s)" % (exc, exc.result))
    record = token_record(decoded.token_class, decoded.subclass, decoded.block, decoded.tid,
                          decoded.fields, decoded.digits, args.base_date)
    if args.json:
        print(json.dumps(record))
        return
    print("token    %s" % record["grouped"])
    print("class    %d, subclass %d: %s" % (decoded.token_class, decoded.subclass, decoded.name))
    print("block    %s (CRC ok)" % record["block"])
    if decoded.tid is not None:
        issued = record["meaning"].get("issued")
        print("TID      %d%s" % (decoded.tid, "  (%s)" % issued if issued else ""))
    for name, value in record["fields"].items():
        print("%-8s %s" % (name, value))
    meaning = record["meaning"]
    if "amount" in meaning:
        print("amount   %s %s" % (meaning["amount"], meaning["unit"]))
    if "tests" in meaning:
        print("tests    %s" % meaning["tests"])
        print("meters   %s" % meaning["meters"])


def run_encode_block(args):
    if args.batch and args.token_class is not None:
        raise UserError("--class goes with --block; with --batch each line gives its class")
    key = decoder_key(args) if args.token_class != 1 else None
    if not args.batch:
        if args.token_class is None:
            raise UserError("--block needs --class N (0, 1 or 2)")
        print(sts.encode_block(args.token_class, int.from_bytes(hex_bytes(args.block, "block"), "big"),
                               key, args.algorithm))
        return
    for number, line in enumerate(read_stream(sys.stdin.buffer).splitlines(), 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise UserError("stdin line %d: expected 'CLASS BLOCKHEX', got %r" % (number, line))
        token_class = integer(parts[0], "stdin line %d: class" % number, maximum=3)
        line_key = key if token_class == 1 or key else decoder_key(args)
        print(sts.encode_block(token_class, int.from_bytes(hex_bytes(parts[1], "block"), "big"),
                               line_key, args.algorithm))


def strip_unit(text, utility):
    """'25.5kWh' -> '25.5' once the unit is the utility's; a bare number passes as it is."""
    unit = sts.UNIT_NAMES[sts.UTILITIES.index(utility)]
    number, suffix = number_and_unit(text, "--units")
    if suffix and suffix.lower() != unit.lower():
        raise UserError("%s tokens carry %s, not %s" % (utility, unit, suffix))
    return number


def run_credit(args):
    args.key_bytes = decoder_key(args)
    tid = token_tid(args)
    if args.units is not None:
        tenths = fixed(strip_unit(args.units, args.utility), 1, "--units", round_up=True)
        issued = sts.credit_token(args.key_bytes, args.algorithm, args.utility, tid, tenths, args.rnd)
    else:
        issued = sts.currency_token(args.key_bytes, args.algorithm, args.utility, tid,
                                    fixed(args.currency, 5, "--currency", negative=True, round_up=True))
    print_records([issued_record(issued, args)], args.json)


MANAGEMENT = {
    # name: (builder, value argument, help)
    "power-limit": (sts.set_max_power_limit, "watts", "SetMaximumPowerLimit (watts)"),
    "phase-unbalance": (sts.set_phase_unbalance_limit, "watts",
                        "SetMaximumPhasePowerUnbalanceLimit (watts)"),
    "clear-credit": (sts.clear_credit, "register",
                     "ClearCredit (register 0-7, or 65535 for all)"),
    "tariff-rate": (sts.set_tariff_rate, "rate", "SetTariffRate (16-bit rate)"),
    "water-factor": (sts.set_water_meter_factor, "factor", "SetWaterMeterFactor (16-bit factor)"),
    "clear-tamper": (sts.clear_tamper, None, "ClearTamperCondition"),
}


def run_management(args):
    builder, value_name, _ = MANAGEMENT[args.token_command]
    args.key_bytes = decoder_key(args)
    values = [getattr(args, value_name)] if value_name else []
    issued = builder(args.key_bytes, args.algorithm, token_tid(args), *values, rnd=args.rnd)
    print_records([issued_record(issued, args)], args.json)


def run_keychange(args):
    args.key_bytes = decoder_key(args)
    new_key = hex_bytes(args.new_key, "new key")
    tokens = sts.key_change(args.key_bytes, args.algorithm, new_key, args.krn, args.kt, args.ti,
                            args.ken, args.rollover, args.sgc)
    print_records([issued_record(t, args) for t in tokens], args.json)


def add_test_options(parser):
    """--control or --test NAME...: what a test token asks for (IEC 62055-41 bits)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--control", type=arg(integer, hex_ok=True), default=0,
                       help="control bits, e.g. 0x1; 0 (the default) asks for all tests. "
                       + ", ".join("bit %d %s" % (bit, METER_TESTS[name])
                                   for bit, name in enumerate(CONTROL_BITS)))
    which.add_argument("--test", action="append", choices=CONTROL_BITS, metavar="NAME",
                       help="a test or read-out by name, repeatable: " + ", ".join(CONTROL_BITS))


def test_control(args):
    return control_of(args.test) if args.test else args.control


def run_test(args):
    issued = sts.test_token(test_control(args), args.mfr_code, args.mfr_digits)
    args.algorithm = "sta"
    print_records([issued_record(issued, args)], args.json)


def add_key_options(parser):
    parser.add_argument("--key", help="decoder key in hex (or set %s)" % KEY_ENV)
    parser.add_argument("--algorithm", choices=sts.ALGORITHMS, default="sta",
                        help="sta = EA07, misty1 = EA11 (default sta)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def add_tid_options(parser):
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--tid", type=int_arg, help="token identifier (minutes since the base date)")
    when.add_argument("--issued", help="issue time YYYY-MM-DDTHH:MM (local), instead of --tid")
    parser.add_argument("--base-date", type=int_arg, choices=(1993, 2014, 2035), default=2014,
                        help="base date of the meter's key (default 2014)")
    parser.add_argument("--last-tid", type=int_arg,
                        help="with --issued: the meter's last TID; the new one will be greater")
    parser.add_argument("--rnd", type=int_arg, choices=range(16), metavar="0-15",
                        help="the 4 random bits (default: random)")


def register(sub, name, help_text):
    parser = sub.add_parser(name, help=help_text, description=help_text)
    commands = parser.add_subparsers(dest="token_command", metavar="TOKEN_COMMAND", required=True)

    p = commands.add_parser("decode", help="decode a token with a decoder key")
    p.add_argument("token", help="20 digits, may be grouped: '1234 5678 ...' or 1234-5678-...")
    add_key_options(p)
    p.add_argument("--base-date", type=int_arg, choices=(1993, 2014, 2035),
                   help="show the TID as a date on this base")
    p.set_defaults(run=run_decode)

    p = commands.add_parser("encode-block", help="encrypt a 64-bit block into a token")
    p.add_argument("--class", dest="token_class", type=int_arg, choices=(0, 1, 2))
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--block", help="plaintext block, 16 hex digits (CRC included)")
    which.add_argument("--batch", action="store_true", help="read 'CLASS BLOCK' lines from stdin")
    add_key_options(p)
    p.set_defaults(run=run_encode_block)

    p = commands.add_parser("credit", help="a credit token (units or currency)")
    add_key_options(p)
    add_tid_options(p)
    p.add_argument("--utility", choices=sts.UTILITIES, default="electricity")
    value = p.add_mutually_exclusive_group(required=True)
    flag(p, "--units", old=("--amount",), group=value, help="units, e.g. 12.5 or 12.5kWh "
         "(water/gas: m3, time: min); rounded up to what a token carries (0.1 up to 1638.3, "
         "then 1, 10, 100), which the output shows")
    value.add_argument("--currency", help="money in base units, e.g. 100.00; rounded up to what a token "
                       "carries (100.00 is carried as 100.00624), which the output shows")
    p.set_defaults(run=run_credit)

    for command, (_, value_name, command_help) in MANAGEMENT.items():
        p = commands.add_parser(command, help=command_help)
        add_key_options(p)
        add_tid_options(p)
        if value_name:
            p.add_argument("--" + value_name, type=int_arg, required=True)
        p.set_defaults(run=run_management)

    p = commands.add_parser("key-change", help="a key change token set (2, 3 or 4 tokens)")
    add_key_options(p)
    p.add_argument("--new-key", required=True, help="the new decoder key in hex")
    p.add_argument("--krn", type=int_arg, required=True, help="new key revision number")
    p.add_argument("--kt", type=int_arg, required=True, help="new key type (0-3)")
    p.add_argument("--ti", type=int_arg, required=True, help="new tariff index")
    p.add_argument("--ken", type=int_arg, default=255, help="key expiry number (default 255: none)")
    p.add_argument("--rollover", action="store_true", help="set RO: the meter clears its TID memory")
    p.add_argument("--sgc", type=int_arg, help="new supply group code (3rd/4th token)")
    p.set_defaults(run=run_keychange)
    old_names(commands, p, "keychange")

    p = commands.add_parser("test", help="a class 1 test/display token (not encrypted)")
    add_test_options(p)
    p.add_argument("--mfr-code", type=int_arg, default=0,
                   help="manufacturer code; 0 (the default) is for every meter")
    p.add_argument("--mfr-digits", type=int_arg, choices=(2, 4), default=2)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_test)
