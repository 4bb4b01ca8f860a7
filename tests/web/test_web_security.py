"""The web console's doors: every route refuses a user without its role (a table made from
the app's own route list, so a new route cannot be forgotten), every state-changing form
needs its session's CSRF token, and no page or answer holds a secret."""
import re


from host.vending import schema
from host.web.auth import route_roles
from webkit import PROVIDER_SECRET

PAN = "600727000000000009"
ARGS = {"account": "A-001", "pan": PAN, "kind": "daily", "number": "1", "provider": "mpesa", "code": "en",
        "action": "ack"}
# The only routes open without a login: the login forms, the language switch, static files.
OPEN = {("GET", "/web/login"), ("POST", "/web/login"), ("GET", "/my/login"), ("POST", "/my/login"),
        ("GET", "/web/lang/{code}"), ("GET", "/web/static")}
RANK = ["clerk", "supervisor", "admin"]
LOGINS = {"clerk": ("alice", "alice-password"), "supervisor": ("sam", "sam-password"),
          "admin": ("root", "root-password")}


def concrete(path):
    return re.sub(r"\{(\w+)\}", lambda m: ARGS[m.group(1)], path)


def state(world):
    """What a refused request must leave as it was: the audit head and the ledger's counts."""
    with world.engine.connect() as conn:
        head = conn.execute(schema.audit_head.select()).first()
    return head, [world.count(t) for t in (schema.sales, schema.customers, schema.meters, schema.adjustments,
                                           schema.payments, schema.customer_logins)]


def customer_browser(world, new_browser):
    from host.vending import selfservice
    selfservice.set_password(world.station, world.ops["alice"], "A-001", "jane-password")
    b = new_browser()
    b.login("A-001", "jane-password", path="/my/login", field="account")
    return b


def test_every_route_has_a_role_or_is_one_of_the_open_ones(app):
    roles = route_roles(app)
    assert roles, "no web routes found"
    opened = {(m, p) for m, p, role in roles if role is None}
    assert opened == OPEN
    assert {role for _, _, role in roles} <= {None, "customer", "provider"} | set(RANK)


def test_every_route_refuses_whoever_lacks_its_role(app, world, new_browser):
    before = state(world)
    anonymous = new_browser()
    sessions = {role: new_browser() for role in RANK}
    for role, b in sessions.items():
        b.login(*LOGINS[role])
    customer = customer_browser(world, new_browser)
    before = state(world)
    checked = 0
    for method, path, role in route_roles(app):
        if role is None:
            continue
        url = concrete(path)
        if role == "provider":
            answer = anonymous.client.post(url, content=b'{"reference": "x"}')
            assert answer.status_code == 401, (path, answer.status_code)
            checked += 1
            continue
        outsiders = [anonymous] + ([customer] if role in RANK else list(sessions.values()))
        if role in RANK:
            outsiders += [sessions[r] for r in RANK[:RANK.index(role)]]
        for b in outsiders:
            answer = b.client.request(method, url, data={"csrf": b.csrf or ""})
            expected = {403} if b in sessions.values() and role in RANK else {401, 303}
            assert answer.status_code in expected, (method, path, role, answer.status_code)
            if answer.status_code == 303:
                assert answer.headers["location"] in ("/web/login", "/my/login")
            checked += 1
        assert state(world) == before, (method, path)
    assert checked > 40


def test_every_state_changing_form_needs_the_sessions_csrf_token(app, world, new_browser):
    admin = new_browser()
    admin.login("root", "root-password")
    customer = customer_browser(world, new_browser)
    before = state(world)
    posts = [(p, role) for m, p, role in route_roles(app) if m == "POST" and role not in (None, "provider")]
    assert len(posts) >= 10
    for path, role in posts:
        b = customer if role == "customer" else admin
        for sent in ({}, {"csrf": "not-the-token"}, {"csrf": ""}):
            answer = b.client.post(concrete(path), data=dict(sent, meter=PAN, amount="10.00", channel="cash"))
            assert answer.status_code == 403, (path, sent, answer.status_code)
        assert state(world) == before, path


def test_login_forms_need_their_csrf_cookie(browser, world):
    before = state(world)
    answer = browser.client.post("/web/login", data={"operator": "alice", "password": "alice-password"})
    assert answer.status_code == 403 and "prepay_operator" not in answer.cookies
    assert state(world) == before


def test_session_cookies_are_httponly_and_samesite_strict(browser):
    page = browser.get("/web/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = browser.client.post("/web/login", data={"operator": "alice", "password": "alice-password",
                                                     "csrf": token})
    cookie = [v for k, v in answer.headers.multi_items() if k == "set-cookie" and "prepay_operator" in v][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_a_disabled_operator_is_logged_out_at_once(app, world, new_browser):
    from host.vending import office
    b = new_browser()
    b.login("alice", "alice-password")
    assert b.get("/web/").status_code == 200
    office.disable_operator(world.station, world.ops["root"], "alice")
    assert b.get("/web/").status_code == 303


def test_no_secret_in_any_page(app, world, new_browser):
    """Vending keys, the meter's decoder key, its command key and broker password, the
    command root, passwords and their hashes, the keystore passphrase and the provider's
    secret: in no page, CSV or PDF an operator or a customer can open."""
    from sqlalchemy import select
    from vendworld import PASSPHRASE, PASSWORDS, VK_DKGA02, VK_DKGA04, VK_DKGA04_KRN2
    admin = new_browser()
    admin.login("root", "root-password")
    sale = admin.post("/web/sales", {"meter": PAN, "amount": "50.00", "channel": "cash"})
    assert sale.status_code == 200
    from test_web_online import feed
    feed(world)                                         # an online meter, its alarms and a command
    assert admin.post("/web/meters/%s/commands" % PAN, {"cmd": "supply", "arg": "off",
                                                       "reason": "test"}).status_code == 303
    customer = customer_browser(world, new_browser)
    with world.engine.connect() as conn:
        hashes = list(conn.execute(select(schema.operators.c.password_hash)).scalars())
        hashes += list(conn.execute(select(schema.customer_logins.c.password_hash)).scalars())
        sealed = list(conn.execute(select(schema.vending_keys.c.ciphertext)).scalars())
    secrets = [k.hex() for k in (VK_DKGA04, VK_DKGA04_KRN2, VK_DKGA02, world.decoder_key(PAN))]
    secrets += [k.hex().upper() for k in (VK_DKGA04, world.decoder_key(PAN))]
    secrets += [world.station.command_key(PAN).hex(), world.station.broker_password(PAN)]
    with world.engine.connect() as conn:
        secrets += [conn.execute(select(schema.settings.c.value).where(schema.settings.c.key == "command_root")).scalar()]
    secrets += list(PASSWORDS.values()) + ["jane-password", "mpesa-account-password", PASSPHRASE,
                                           PROVIDER_SECRET.decode()] + hashes + sealed
    pages = [sale.text]
    for method, path, role in route_roles(app):
        if method != "GET" or role is None or role == "customer":
            continue
        pages.append(admin.get(concrete(path)).text)
    pages.append(admin.get("/web/meters/%s/readings.csv" % PAN).text)
    pages.append(admin.get("/web/meters/%s?days=366" % PAN).text)
    for path in ("/my/", "/my/receipts/1", "/my/latest?after=0", "/web/login", "/my/login"):
        pages.append(customer.get(path).text)
    pages.append(admin.post("/web/receipts/reprint", {"receipt": "1"}).text)
    pdf = admin.post("/web/receipts/pdf", {"receipt": "1"})
    assert pdf.headers["content-type"] == "application/pdf"
    for page in pages + [pdf.content.decode("latin-1")]:
        for secret in secrets:
            assert secret not in page


def test_sessions_survive_a_restart_expire_and_are_stored_hashed(app, world, new_browser):
    from sqlalchemy import select
    from host.web.app import create_app
    from webkit import Browser
    b = new_browser()
    b.login("alice", "alice-password")
    cookie = b.client.cookies.get("prepay_operator")
    with world.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(schema.browser_sessions))]
    assert len(stored) == 1 and cookie not in repr(stored) and b.csrf not in repr(stored)
    again = Browser(create_app(world.station))               # the server restarted
    again.client.cookies.set("prepay_operator", cookie)
    assert again.get("/web/").status_code == 200
    world.clock.advance(hours=8, seconds=1)
    assert again.get("/web/").status_code == 303
    b.login("alice", "alice-password")                       # a new login replaces the old session
    other = new_browser()
    other.login("alice", "alice-password")
    assert b.get("/web/").status_code == 303 and other.get("/web/").status_code == 200
