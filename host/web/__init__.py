"""The web console (issue 17): operators' dashboard, vending counter, accounts, meters,
reports and refunds, and customers' self-service with payment-provider callbacks.

Served by the vending server (``prepay web serve``: the same FastAPI app, process,
station, custody and audit trail as ``prepay vend serve``), over ``host.vending``, with
no business logic of its own. Rooms:
  app             mounts the pages into the server's app; templates, languages, errors
  auth            browser sessions, CSRF tokens, the role each page needs
  i18n            gettext catalogues (English, Simplified Chinese), money/date/unit formats
  pages_counter   login, dashboard, counter (find, sell, receipts), adjustments
  pages_accounts  open an account with its meter, the account's and the meter's pages
  pages_reports   daily, by channel, settlement: tables, a chart and CSV
  pages_customer  customers' pages and the providers' callback (``host.vending.callbacks``)
  templates/, static/ (htmx and uPlot vendored from npm: static/vendor/VENDORED.md)
"""
