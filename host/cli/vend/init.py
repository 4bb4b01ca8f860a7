"""``prepay vend init``: create or upgrade the vending database."""

from host.errors import UserError
from host.cli.vend.common import common, new_secret, secret, server_url, wrap
from host.parse import int_arg


def _init(vend):
    p = common(vend.add_parser("init", help="create or upgrade the database (alembic upgrade head)"))
    p.add_argument("--timezone", help="the utility's IANA time zone for TIDs and receipts (default UTC; "
                                      "fixed once set)")
    p.add_argument("--keystore", metavar="URI", help="keep the vending keys and the audit key in a PKCS#11 "
                   "module, e.g. pkcs11:token=prepay?module-path=/usr/lib/softhsm/libsofthsm2.so (PIN from "
                   "PREPAY_PKCS11_PIN or a prompt; default: the AES-GCM keystore); fixed once set")
    p.add_argument("--approval-wait", metavar="HOURS", type=int_arg, help="on a one-admin station, how long "
                   "a new supervisor or admin waits before it works (default 24; fixed once set)")
    p.set_defaults(run=wrap(_run_init))


def _run_init(args):
    from host.vending import bootstrap
    if server_url(args):
        raise UserError("init runs on the server machine, in local mode (without --server)")
    from host.vending.db import make_engine, resolve_url
    from host.vending.station import utc_now
    engine = make_engine(args.db, create_dir=True)
    passphrase = None
    if args.keystore:
        passphrase = secret("PREPAY_PKCS11_PIN", "PIN of the PKCS#11 token: ")
    elif not bootstrap.has_keystore(engine):
        passphrase = new_secret("PREPAY_KEYSTORE_PASSPHRASE", "New keystore passphrase: ")
        if len(passphrase) < 8:
            raise UserError("the keystore passphrase needs at least 8 characters")
    else:
        passphrase = lambda: secret("PREPAY_KEYSTORE_PASSPHRASE", "Keystore passphrase: ")  # noqa: E731
    wait = None if args.approval_wait is None else args.approval_wait * 3600
    done = bootstrap.init(engine, passphrase, args.timezone, utc_now(), args.keystore, wait)
    url = engine.url.render_as_string(hide_password=True)
    done["database"] = url
    return done, "vending database ready: %s (schema at head, keystore %s, time zone %s)" % (
        resolve_url(args.db) if url.startswith("sqlite") else url, done["keystore"], done["timezone"])


def register(vend):
    _init(vend)
