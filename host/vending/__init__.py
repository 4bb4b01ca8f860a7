"""The vending station: the utility's STS point of sale and ledger.

Rooms, each one job:
  db        engine from a URL (SQLite default file, PostgreSQL), locking, migrations
  schema    the tables (the Alembic migration is the schema of record; a test keeps both equal)
  money     decimal strings <-> integer cents; units in tenths
  keystore  key custody: vending keys sealed with AES-GCM (KEK via scrypt), or in a
            PKCS#11 module (pkcs11store); both hold the audit trail's key
  operators roles, password hashes, approval of privileged accounts, login throttling
  audit     the keyed hash chain, the row state it vouches for, heads and checkpoints
  records   customers, meters, tariffs, debts
  pricing   the sale computation (pure: tariff + amount -> deductions and units)
  sales     one sale = tokens + ledger rows + audit entry, in one transaction
  office    the back office's changes, each with its audit entry, and the counter's look-ups
  api       every operation once (name, role, parameters): what both doors call
  server    the vending server (FastAPI): sessions, a route per operation, role checks
  client    the server's client (httpx), used by ``prepay vend --server``
  ...       mgmt, adjustments, payments, receipts, reports
  lookup, selfservice, callbacks, accounts
            the counter's search, customers' logins and views, payment providers'
            signed callbacks, account and tariff changes (the web console's, any door's)

Money is integer cents (``*_cents``), prices integer millionths of a currency unit per
unit of energy/volume (``price_micro``), quantities integer tenths (``*_tenths``, the
token's 0.1 kWh / 0.1 m3 resolution), currency token values in 10^-5 units (``*_e5``).
All times are UTC.
"""
