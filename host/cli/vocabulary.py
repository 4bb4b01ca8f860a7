"""One vocabulary across ``prepay``'s commands: the same flag for the same thing and
hyphenated subcommand names; old spellings stay as hidden aliases so that scripts keep
working (README.md, "One vocabulary", is the user's copy of the table below).

    --meter PAN        a meter's number          (old: --pan)
    --account ACCOUNT  a customer's account      (old: --customer)
    --amount MONEY     money, e.g. 100.00        (prepay vend)
    --units QUANTITY   kWh, m3 or minutes        (old in prepay token credit: --amount)
    --watts, --register, --rate, --factor        a management token's value (old: --value)
    --mfr-code N       manufacturer code         (old: --mfr)
    key-change         a key change token set    (old: keychange)
"""
import argparse


def flag(parser, name, old=(), required=False, group=None, **kwargs):
    """``--name``; each old spelling sets the same value, is not listed in --help, and
    giving two spellings at once is refused. ``group``: a mutually exclusive group."""
    if old and group is None:
        group = parser.add_mutually_exclusive_group(required=required)
    elif group is None:
        return parser.add_argument(name, required=required, **kwargs)
    action = group.add_argument(name, **kwargs)
    alias = {k: v for k, v in kwargs.items() if k in ("type", "choices", "metavar", "action")}
    for spelling in old:
        group.add_argument(spelling, dest=action.dest, help=argparse.SUPPRESS,
                           default=argparse.SUPPRESS, **alias)
    return action


def old_names(sub, parser, *names):
    """Old names of a finished subcommand: they parse the same, --help does not list them."""
    for name in names:
        sub.add_parser(name, parents=[parser], add_help=False, description=parser.description,
                       formatter_class=parser.formatter_class)
