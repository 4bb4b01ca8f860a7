"""The console works with no internet: every script and style is served from the package,
the vendored files are the npm releases VENDORED.md names, and pages forbid the rest."""
import hashlib
import os
import re

import host.web

WEB = os.path.dirname(host.web.__file__)
VENDOR = os.path.join(WEB, "static", "vendor")


def test_vendored_files_are_the_releases_noted():
    with open(os.path.join(VENDOR, "VENDORED.md"), encoding="utf-8") as handle:
        noted = dict(re.findall(r"([\w.]+\.js) ([0-9a-f]{64})", handle.read()))
    assert set(noted) == {"htmx.min.js", "uPlot.iife.min.js"}
    for name, digest in noted.items():
        with open(os.path.join(VENDOR, name), "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == digest, name
    assert os.path.exists(os.path.join(VENDOR, "LICENSE.htmx")) and os.path.exists(os.path.join(VENDOR, "LICENSE.uplot"))


def test_templates_load_nothing_from_elsewhere_and_have_no_inline_script():
    for name in os.listdir(os.path.join(WEB, "templates")):
        with open(os.path.join(WEB, "templates", name), encoding="utf-8") as handle:
            text = handle.read()
        assert not re.search(r'(src|href)="(https?:)?//', text), name
        assert not re.search(r"<script>|<script [^>]*>[^<]", text) and " on" + "click=" not in text, name
        assert "javascript:" not in text, name


def test_static_files_and_page_headers(browser):
    for path in ("/web/static/vendor/htmx.min.js", "/web/static/vendor/uPlot.iife.min.js",
                 "/web/static/prepay.js", "/web/static/prepay.css"):
        assert browser.get(path).status_code == 200, path
    page = browser.get("/web/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
