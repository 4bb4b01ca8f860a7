"""The web console in a real browser: Debian's chromium driven by Playwright (never a
downloaded browser), against ``prepay web serve`` started here in its own process.

One story, in the order a utility lives it: an operator logs in, opens an account with a
meter, sells and prints the receipt; asks for a refund that a second operator confirms;
gives the customer a self-service password; the customer, on a phone-sized window, sees
the chart, tops up, and gets the token the payment provider's callback vended. Each page
is saved as a screenshot (``PREPAY_ARTIFACTS`` or the test's temporary folder).

Waits are generous (the CI machine has 2 cores shared by many jobs); nothing is timed."""
import datetime
import json
import os
import shutil
import time

import httpx
import pytest

from host.vending import callbacks
from vendworld import PASSPHRASE, World, pan
from webkit import PROVIDER_SECRET, WebServer

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = int(os.environ.get("PREPAY_BROWSER_WAIT_MS", "60000"))
NEW_PAN = pan(77)

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and os.environ.get("CI", "").lower() != "true",
                                reason="Debian's chromium is not installed (CI installs it)")


@pytest.fixture
def served(tmp_path):
    from host.vending import office
    world = World(str(tmp_path / "vending.db"), clock=lambda: datetime.datetime.now(datetime.timezone.utc)
                  .replace(tzinfo=None))
    office.add_operator(world.station, world.ops["root"], "mpesa", "clerk", "mpesa-account-password")
    server = WebServer(str(tmp_path / "vending.db"), PASSPHRASE, tmp_path).start()
    server.world = world
    yield server
    server.stop()
    world.engine.dispose()


def low_credit_readings(world, pan):
    """A simulated online meter (the head-end's fleet simulator) reports its credit running
    low; the head-end's own ingest stores the readings and raises the alarms."""
    from host.headend import store
    from host.headend.fleet import SimMeter
    start = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(hours=6)
    clock = {"t": start}
    meter = SimMeter(pan, b"k" * 32, credit_milli=3000, power_w=400,
                     clock=lambda: (clock["t"] - datetime.datetime(1970, 1, 1)).total_seconds())
    meter.last_purchase_milli = 60000
    batch = store.Batch()
    for hour in range(6):
        clock["t"] = start + datetime.timedelta(hours=hour)
        meter.advance(3600)
        batch.add("prepay/%s/reading" % pan, meter.reading(3600), clock["t"])
    with world.station.begin() as conn:
        store.store(conn, batch, clock["t"])


@pytest.fixture
def artifacts(tmp_path):
    folder = os.environ.get("PREPAY_ARTIFACTS") or str(tmp_path / "screenshots")
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def login(page, url, name, password):
    page.goto(url + "/web/login")
    page.fill("input[name=operator]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/web/")


def signed_callback(url, reference, account, amount_cents):
    body = json.dumps({"reference": reference, "account": account, "amount_cents": amount_cents,
                       "paid_at": datetime.datetime.now(datetime.timezone.utc).isoformat(), "channel": "mobile"})
    stamp = int(time.time())
    answer = httpx.post(url + "/pay/mpesa", content=body.encode(), timeout=60, headers={
        "X-Prepay-Timestamp": str(stamp), "X-Prepay-Signature": callbacks.sign(PROVIDER_SECRET, stamp, body.encode())})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def shots(artifacts):
    """Pages kept open by the story, screenshotted if it fails (what the browser showed)."""
    pages = []
    yield pages
    for k, page in enumerate(pages):
        try:
            page.screenshot(path=os.path.join(artifacts, "at-the-end-%d.png" % k), full_page=True)
        except Exception:       # a closed page: the story ended normally
            pass


def test_operator_counter_refund_and_customer_top_up(served, chromium, artifacts, shots):
    url = served.url
    desk = chromium.new_context(viewport={"width": 1280, "height": 900})
    desk.set_default_timeout(WAIT_MS)
    page = desk.new_page()
    shots.append(page)
    login(page, url, "sam", "sam-password")

    page.click("text=Accounts")
    page.fill("#open-account input[name=account]", "B-007")
    page.fill("#open-account input[name=name]", "Li Wei")
    page.fill("#open-account input[name=phone]", "+8613800000000")
    page.click("#open-account button[type=submit]")
    page.wait_for_selector("text=step 2 of 2")
    page.fill("#add-meter input[name=meter]", NEW_PAN)
    page.select_option("#add-meter select[name=key]", "201457/1")
    page.click("#add-meter button[type=submit]")
    page.wait_for_selector("p.notice >> text=meter %s added" % NEW_PAN)
    page.screenshot(path=os.path.join(artifacts, "account.png"), full_page=True)

    page.click("text=Counter")
    page.fill("input[name=q]", "Li Wei")
    page.press("input[name=q]", "Enter")
    page.screenshot(path=os.path.join(artifacts, "counter.png"), full_page=True)
    page.fill("form.sell input[name=amount]", "100.00")
    page.click("form.sell button[type=submit]")
    page.wait_for_selector("text=SALE RECEIPT")
    token = page.inner_text(".tokens .token")
    assert len(token.replace(" ", "")) == 20
    page.screenshot(path=os.path.join(artifacts, "receipt.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.is_visible("header.bar") and page.is_visible(".receipt")
    page.screenshot(path=os.path.join(artifacts, "receipt-print.png"))
    page.pdf(path=os.path.join(artifacts, "receipt-print.pdf"), width="80mm", height="200mm")
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.click("text=PDF")
    assert download.value.suggested_filename.startswith("receipt-")
    receipt = page.url and page.inner_text(".receipt pre").split("Receipt")[1].split()[0]

    page.click("text=Adjustments")
    page.select_option("select[name=kind]", "refund")
    page.fill("input[name=receipt]", receipt)
    page.fill("input[name=amount]", "20.00")
    page.fill("input[name=reason]", "meter fault")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("p.notice >> text=requested")
    assert page.locator("button[value=confirm]").count() == 0     # not on one's own request

    other = chromium.new_context(viewport={"width": 1280, "height": 900})
    other.set_default_timeout(WAIT_MS)
    second = other.new_page()
    login(second, url, "sue", "sue-password")
    second.click("text=Adjustments")
    second.click("button[value=confirm]")
    second.wait_for_selector("p.notice >> text=confirmed")
    second.screenshot(path=os.path.join(artifacts, "adjustments.png"), full_page=True)

    low_credit_readings(served.world, NEW_PAN)
    second.click("text=Alarms")
    row = second.locator("tr", has_text="low_balance_2")
    row.locator("input[name=note]").fill("customer called")
    row.locator("button[type=submit]").click()
    second.wait_for_selector("p.notice >> text=acknowledged")
    assert "customer called" in second.inner_text("table")
    second.screenshot(path=os.path.join(artifacts, "alarms.png"), full_page=True)

    page.goto(url + "/web/accounts/B-007")
    page.fill("input[name=password][type=password]", "li-wei-password")
    page.click("text=Set password")
    page.wait_for_selector("p.notice >> text=self-service password set")
    page.goto(url + "/web/")
    page.wait_for_selector("text=new meter")
    page.screenshot(path=os.path.join(artifacts, "dashboard.png"), full_page=True)
    page.goto(url + "/web/meters/%s" % NEW_PAN)
    page.wait_for_selector("#use-chart canvas")
    page.screenshot(path=os.path.join(artifacts, "meter.png"), full_page=True)
    page.goto(url + "/web/reports")
    page.wait_for_selector("#sales-chart canvas")
    page.screenshot(path=os.path.join(artifacts, "reports.png"), full_page=True)

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                 device_scale_factor=2)
    phone.set_default_timeout(WAIT_MS)
    mine = phone.new_page()
    mine.goto(url + "/my/login")
    mine.fill("input[name=account]", "B-007")
    mine.fill("input[name=password]", "li-wei-password")
    mine.click("button[type=submit]")
    mine.wait_for_selector("#use-chart canvas")
    assert mine.evaluate("document.documentElement.scrollWidth") <= 390 + 1     # fits the phone
    mine.fill("input[name=amount]", "50.00")
    mine.click("#topup button[type=submit]")
    mine.wait_for_selector("text=Waiting for the payment")
    paid = signed_callback(url, "MP-%d" % time.time_ns(), NEW_PAN, 5000)
    assert paid["status"] == "vended"
    mine.wait_for_selector(".paid .token")
    assert mine.inner_text(".paid .token") == paid["tokens"][0]
    mine.screenshot(path=os.path.join(artifacts, "customer-phone.png"), full_page=True)
    for context in (desk, other, phone):
        context.close()
    if os.environ.get("PREPAY_DOCS_SCREENSHOT"):          # refresh docs/ by hand, not in CI
        shutil.copy(os.path.join(artifacts, "receipt.png"), os.environ["PREPAY_DOCS_SCREENSHOT"])
