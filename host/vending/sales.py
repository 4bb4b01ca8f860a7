"""One sale: tariff computation, credit token(s), ledger rows and audit entry, all in one
transaction, so a crash anywhere leaves either the whole sale or nothing.

Before the credit token the receipt carries any key change set issued to the meter and not
yet delivered (the credit token is already encrypted with the new key).
"""
import json

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from host.vending import audit, schema
from host.vending.db import lock_row
from host.vending.errors import VendError
from host.vending.issue import fresh_tids, locked_meter, save_last_tid, store_token, token_error
from host.vending.money import fmt_cents
from host.vending.pricing import compute_sale, printed_cents
from host.vending.records import CHANNELS, tariff_version_at
from host.vending.text import field


def month_start_utc(station, conn, local_now):
    start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return station.to_utc(start, conn)


_S = schema.sales
_MONTH_SO_FAR = (select(func.coalesce(func.sum(_S.c.units_tenths), 0), func.coalesce(func.sum(_S.c.service_cents), 0),
                        func.coalesce(func.sum(_S.c.free_tenths), 0))
                 .where(_S.c.meter_id == bindparam("meter_id"), _S.c.sold_at >= bindparam("since")))
_PENDING_KEY_CHANGES = (select(schema.key_changes.c.id)
                        .where(schema.key_changes.c.meter_id == bindparam("meter_id"),
                               schema.key_changes.c.delivered_sale_id.is_(None))
                        .order_by(schema.key_changes.c.id))
_CUSTOMER_NAME = select(schema.customers.c.account, schema.customers.c.name).where(
    schema.customers.c.id == bindparam("customer_id"))
_INSERT_SALE = insert(schema.sales)
_RECOVER_DEBT = (update(schema.customers).where(schema.customers.c.id == bindparam("customer_id"))
                 .values(debt_cents=schema.customers.c.debt_cents - bindparam("recovered")))


def _month_so_far(conn, meter_id, since):
    row = conn.execute(_MONTH_SO_FAR, {"meter_id": meter_id, "since": since}).first()
    return int(row[0]), int(row[1]), int(row[2])


def service_due(version, meter, collected_this_month, today):
    """(cents due now, new service_paid_through) for the tariff's service charge."""
    if version["service_period"] == "month":
        return max(0, version["service_cents"] - collected_this_month), meter["service_paid_through"]
    if version["service_period"] == "day":
        paid = meter["service_paid_through"]
        days = 1 if paid is None else max(0, (today - paid).days)
        return days * version["service_cents"], today
    return 0, meter["service_paid_through"]


_SALE_BY_REFERENCE = (select(_S.c.id, _S.c.amount_cents, schema.meters.c.pan)
                      .join(schema.meters, schema.meters.c.id == _S.c.meter_id)
                      .where(_S.c.reference == bindparam("reference")))


def _retry(station, conn, reference, pan, amount_cents):
    """The receipt of the sale that already carries ``reference`` if this is a retry of it
    (same meter, same amount; marked ``duplicate``); None when the reference is new;
    ``VendError`` naming the conflict when that sale was for another meter or amount."""
    from host.vending.records import normalise_pan
    done = conn.execute(_SALE_BY_REFERENCE, {"reference": reference}).first()
    if done is None:
        return None
    pan = normalise_pan(pan)
    if (done.pan, done.amount_cents) != (pan, amount_cents):
        raise VendError("payment reference %s is already used by receipt %d (meter %s, amount %s), not by a "
                        "sale to meter %s of %s; nothing sold" % (reference, done.id, done.pan,
                                                                  fmt_cents(done.amount_cents), pan,
                                                                  fmt_cents(amount_cents)))
    return dict(receipt(station, conn, done.id), duplicate=True)


def sell(station, operator, pan, amount_cents, channel, reference=None):
    """Sell ``amount_cents`` to meter ``pan``; returns the receipt (see ``receipt``).

    With a ``reference`` (a payment's id) the sale happens once: a retry (the same
    reference, meter and amount) returns the first sale's receipt marked ``duplicate``;
    the same reference with another meter or amount is refused. The unique column
    ``sales.reference`` settles a race between two processes: the loser's insert fails
    and it answers as if it had come second.

    In the vending server (``station.group_commit`` set) the sale joins the others
    arriving at the same moment and commits with them (``sell_together``).
    """
    order = (operator, pan, amount_cents, channel, _checked_reference(channel, reference))
    together = getattr(station, "group_commit", None)
    if together is not None:
        return together.sell(order)
    return _sell_alone(station, order)


def _checked_reference(channel, reference):
    if channel not in CHANNELS:
        raise VendError("channel must be one of %s" % ", ".join(CHANNELS))
    return field(reference, schema.sales.c.reference, "payment reference", required=False)


def _sell_alone(station, order):
    operator, pan, amount_cents, channel, reference = order
    if reference is not None:
        with station.engine.connect() as conn:
            done = _retry(station, conn, reference, pan, amount_cents)
        if done is not None:
            return done
    try:
        with station.begin() as conn:
            return _sell(station, conn, *order)
    except IntegrityError:
        if reference is None:
            raise
        with station.engine.connect() as conn:
            done = _retry(station, conn, reference, pan, amount_cents)
        if done is None:
            raise
        return done


def sell_together(station, orders):
    """Several sales (``(operator, pan, amount_cents, channel, reference)`` each, checked by
    ``sell``) in one transaction and one commit: the group commit of the vending server.
    Returns one outcome per order: its receipt, or the exception it raised.

    The sales run one after the other in the transaction, their audit entries chained in
    order and their TIDs drawn from the meter rows as the transaction left them, so they
    stay distinct. If any of them fails, the transaction is rolled back (nothing of the
    group has happened) and the group runs again with each sale in its own savepoint, so
    a refused sale (``VendError``) leaves no trace and the others go on; a sale that meets
    a database error there (a reference another process took, a deadlock) is sold again
    alone after the commit, with ``sell``'s own handling. If the commit fails, no sale of
    the group happened and every order gets that error. Nothing is returned before the
    commit, so a receipt is never shown for a sale not yet durable.
    """
    if len(orders) == 1:
        try:
            return [_sell_alone(station, orders[0])]
        except Exception as exc:      # handed to the caller that sent the order
            return [exc]
    try:
        with station.begin() as conn:
            try:
                outcomes = [_sell_once(station, conn, order) for order in orders]
            except Exception as exc:
                raise _OneFailed() from exc       # rolls the whole group back
    except _OneFailed:
        return _sell_each_in_a_savepoint(station, orders)
    except Exception as exc:                      # the commit failed
        return [exc] * len(orders)
    return outcomes


class _OneFailed(Exception):
    pass


def _sell_each_in_a_savepoint(station, orders):
    outcomes = [None] * len(orders)
    try:
        with station.begin() as conn:
            for k, order in enumerate(orders):
                try:
                    with conn.begin_nested():
                        outcomes[k] = _sell_once(station, conn, order)
                except DBAPIError:
                    outcomes[k] = _ALONE
                except Exception as exc:
                    outcomes[k] = exc
    except Exception as exc:
        return [exc] * len(orders)
    for k, outcome in enumerate(outcomes):
        if outcome is _ALONE:
            try:
                outcomes[k] = _sell_alone(station, orders[k])
            except Exception as exc:
                outcomes[k] = exc
    return outcomes


_ALONE = object()


def _sell_once(station, conn, order):
    """A sale inside ``conn``'s transaction, or the receipt of the sale its reference names."""
    operator, pan, amount_cents, channel, reference = order
    if reference is not None:
        done = _retry(station, conn, reference, pan, amount_cents)
        if done is not None:
            return done
    return _sell(station, conn, *order)


def _sell(station, conn, operator, pan, amount_cents, channel, reference):
    from tokens import sts
    from tokens.errors import TokenError
    now = station.clock()
    local_now = station.local(now, conn)
    meter = locked_meter(conn, pan)
    customer = dict(lock_row(conn, schema.customers, meter["customer_id"]))
    version = tariff_version_at(conn, meter["tariff_id"], now)
    key = station.decoder_key(conn, meter, local_now.date())

    month_units, month_service, month_free = _month_so_far(conn, meter["id"], month_start_utc(station, conn, local_now))
    due_cents, paid_through = service_due(version, meter, month_service, local_now.date())
    free_due = version["free_tenths"] if month_free == 0 and meter["credit_mode"] == "unit" else 0
    computed = compute_sale(amount_cents, version, meter["credit_mode"], customer["debt_cents"],
                            customer["debt_recovery_bp"], due_cents, month_units, free_due)

    tids = fresh_tids(meter, local_now, 2 if free_due else 1)
    try:
        if meter["credit_mode"] == "currency":
            credit = sts.currency_token(key, meter["algorithm"], meter["utility"], tids[0], computed["credit_e5"])
        else:
            credit = sts.credit_token(key, meter["algorithm"], meter["utility"], tids[0], computed["units_tenths"])
        free = sts.credit_token(key, meter["algorithm"], meter["utility"], tids[1], free_due) if free_due else None
    except TokenError as exc:
        if "largest" in str(exc) or "exceeds" in str(exc):
            raise VendError("amount %s buys more than one token can carry for meter %s (%s); sell less"
                            % (fmt_cents(amount_cents), meter["pan"], exc))
        raise token_error(meter, exc)

    pending = conn.execute(_PENDING_KEY_CHANGES, {"meter_id": meter["id"]}).scalars().all()
    detail = {"blocks": computed["blocks"], "rounding_micro": computed["rounding_micro"],
              "debt_after_cents": computed["debt_after_cents"], "tariff": version["tariff_name"],
              "vat_bp": version["vat_bp"], "key_changes": pending, "local_time": local_now.isoformat(" ", "minutes")}
    sale = dict(meter_id=meter["id"], customer_id=customer["id"], operator_id=operator["id"],
                tariff_version_id=version["id"], channel=channel, reference=reference, sold_at=now,
                amount_cents=amount_cents, debt_cents=computed["debt_cents"], service_cents=computed["service_cents"],
                vat_cents=computed["vat_cents"], energy_cents=computed["energy_cents"],
                units_tenths=computed["units_tenths"], credit_value=credit.value, free_tenths=free_due,
                detail=json.dumps(detail, sort_keys=True))
    sale["id"] = conn.execute(_INSERT_SALE, sale).inserted_primary_key[0]
    token_rows = [store_token(conn, meter, operator["id"], "credit", credit, now, sale_id=sale["id"])]
    if free is not None:
        token_rows.append(store_token(conn, meter, operator["id"], "free_basic", free, now, sale_id=sale["id"]))
    meter["service_paid_through"] = paid_through
    save_last_tid(conn, meter)
    if computed["debt_cents"]:
        conn.execute(_RECOVER_DEBT, {"customer_id": customer["id"], "recovered": computed["debt_cents"]})
    kc_tokens = []
    if pending:
        conn.execute(update(schema.key_changes).where(schema.key_changes.c.id.in_(pending))
                     .values(delivered_sale_id=sale["id"]))
        kc_tokens = _key_change_tokens(conn, pending)
    audit.append(station, conn, now, operator["name"], "sale", sale["id"], {
        "meter": meter["pan"], "amount_cents": amount_cents, "channel": channel,
        "tids": [t["tid"] for t in token_rows], "digest": audit.sale_digest(sale, token_rows)},
        rows=[(schema.meters, meter["id"])] + ([(schema.customers, customer["id"])] if computed["debt_cents"] else []))
    names = dict(pan=meter["pan"], utility=meter["utility"], credit_mode=meter["credit_mode"],
                 account=customer["account"], customer_name=customer["name"], operator_name=operator["name"])
    return _assemble(dict(sale, **names), detail, kc_tokens + token_rows)


def _key_change_tokens(conn, key_change_ids):
    t = schema.tokens
    return [dict(tok) for tok in conn.execute(
        select(t.c.kind, t.c.digits, t.c.tid, t.c.value).where(t.c.key_change_id.in_(key_change_ids))
        .order_by(t.c.id)).mappings()]


def receipt(station, conn, sale_id):
    """Everything a receipt shows, from the ledger (the same for a sale and its reprint)."""
    s, m, c, o, t = schema.sales, schema.meters, schema.customers, schema.operators, schema.tokens
    row = conn.execute(select(s, m.c.pan, m.c.utility, m.c.credit_mode, c.c.account, c.c.name.label("customer_name"),
                              o.c.name.label("operator_name"))
                       .join(m, m.c.id == s.c.meter_id).join(c, c.c.id == s.c.customer_id)
                       .join(o, o.c.id == s.c.operator_id).where(s.c.id == sale_id)).mappings().first()
    if row is None:
        raise VendError("no receipt %s" % sale_id)
    detail = json.loads(row["detail"])
    tokens = _key_change_tokens(conn, detail["key_changes"]) if detail.get("key_changes") else []
    for tok in conn.execute(select(t).where(t.c.sale_id == sale_id).order_by(t.c.id)).mappings():
        tokens.append({"kind": tok["kind"], "digits": tok["digits"], "tid": tok["tid"], "value": tok["value"]})
    return _assemble(row, detail, tokens)


def _assemble(row, detail, tokens):
    """The receipt dict from a sale row (with names joined in), its detail and its tokens."""
    from tokens.sts import format_digits
    tokens = [{"kind": tok["kind"], "digits": tok["digits"], "tid": tok["tid"], "value": tok["value"],
               "formatted": format_digits(tok["digits"])} for tok in tokens]
    currency = row["credit_mode"] == "currency"
    blocks = detail.get("blocks", [])
    block_cents, rounding_cents = printed_cents(blocks, row["energy_cents"]) if blocks else ([], 0)
    return {
        "receipt": row["id"],
        "sold_at": row["sold_at"].isoformat(" ", "seconds") + " UTC",
        "local_time": detail.get("local_time"),
        "customer": {"account": row["account"], "name": row["customer_name"]},
        "meter": row["pan"],
        "utility": row["utility"],
        "credit_mode": row["credit_mode"],
        "tariff": detail.get("tariff"),
        "operator": row["operator_name"],
        "channel": row["channel"],
        "reference": row["reference"],
        "amount_cents": row["amount_cents"],
        "deductions": {"debt_cents": row["debt_cents"], "service_cents": row["service_cents"],
                       "vat_cents": row["vat_cents"]},
        "vat_bp": detail.get("vat_bp", 0),
        "energy_cents": row["energy_cents"],
        "blocks": [dict(b, cost_cents=c) for b, c in zip(blocks, block_cents)],
        "rounding_micro": detail.get("rounding_micro", 0),
        "rounding_cents": rounding_cents,
        "debt_after_cents": detail.get("debt_after_cents", 0),
        "units_tenths": None if currency else row["units_tenths"],
        "units_credited_tenths": None if currency else row["credit_value"],
        "credit_e5": row["credit_value"] if currency else None,
        "free_tenths": row["free_tenths"],
        "tid": next((tok["tid"] for tok in tokens if tok["kind"] == "credit"), None),
        "tokens": tokens,
    }


def last_sale_id(conn, pan):
    from host.vending.records import find_meter
    meter = find_meter(conn, pan)
    sale_id = conn.execute(select(func.max(schema.sales.c.id)).where(schema.sales.c.meter_id == meter["id"])).scalar()
    if sale_id is None:
        raise VendError("meter %s has no sales yet" % meter["pan"])
    return sale_id


def reprint(station, operator, sale_id=None, pan=None):
    """A past receipt again, same tokens and TIDs; the reprint itself is audited."""
    with station.begin() as conn:
        if sale_id is None:
            sale_id = last_sale_id(conn, pan)
        data = receipt(station, conn, sale_id)
        audit.append(station, conn, station.clock(), operator["name"], "reprint", sale_id, {"meter": data["meter"]})
    data["reprint"] = True
    return data

