"""The dashboard draws its chart, and a statement downloads as CSV, in a real browser (headless Chromium).

Skipped where Chromium is missing, failed under CI (``tests.console.test_browser``).
"""

from __future__ import annotations

import csv
import datetime
import os
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.console.helpers import OPERATORS, PASSWORD, make_user
from tests.console.test_browser import TIMEOUT, browser  # noqa: F401 (the browser fixture)
from tests.console.test_dashboard import at
from tests.factories import AccountFactory, UserFactory
from transactions import services


def shot(driver, name: str) -> None:
    """Save a screenshot when ``LEDGER_SCREENSHOTS_DIR`` is set (docs/console.md's pictures come from here)."""
    if os.environ.get("LEDGER_SCREENSHOTS_DIR"):
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(height + 140, 2400))  # The whole page, at the width the tests check.
        driver.save_screenshot(str(Path(os.environ["LEDGER_SCREENSHOTS_DIR"]) / f"{name}.png"))
        driver.set_window_size(1400, 900)


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_browser(live_server, browser, ledger_groups, monkeypatch):  # noqa: F811 (the fixture imported above)
    """The browser at 1400x900, logged in as an operator, beside a ledger where money moved today and before.

    Alice and Bob moved money today only; Carol (USD) and Kenji (JPY) over the last two weeks.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    make_user("olivia", groups=[ledger_groups[OPERATORS]])
    customer = UserFactory(username="acme")
    alice = AccountFactory(owner=customer, name="Alice", currency="USD")
    bob = AccountFactory(owner=customer, name="Bob", currency="USD")
    services.deposit_create(actor=customer, account_id=alice.public_id, amount=Decimal("100.00"), reference="INV-1")
    services.transfer_create(
        actor=customer, source_account_id=alice.public_id, destination_account_id=bob.public_id, amount="30.00"
    )
    carol = AccountFactory(owner=customer, name="Carol", currency="USD")
    kenji = AccountFactory(owner=customer, name="Kenji", currency="JPY")
    now = datetime.datetime.now(datetime.UTC)

    def two_weeks_ago_till_yesterday(days: int) -> None:
        amount = Decimal(40 + 7 * (days % 5))
        services.deposit_create(actor=customer, account_id=carol.public_id, amount=amount)
        services.transfer_create(
            actor=customer, source_account_id=carol.public_id, destination_account_id=bob.public_id, amount=amount / 2
        )
        services.withdrawal_create(actor=customer, account_id=carol.public_id, amount="5.25")
        services.deposit_create(actor=customer, account_id=kenji.public_id, amount=1000 * days)

    for days in range(1, 15):
        at(now - datetime.timedelta(days=days, hours=2), monkeypatch, lambda d=days: two_weeks_ago_till_yesterday(d))
    browser.set_window_size(1400, 900)
    wait = WebDriverWait(browser, TIMEOUT)
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    wait.until(ec.presence_of_element_located((By.ID, "id_username"))).send_keys("olivia")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD + Keys.ENTER)
    wait.until(ec.presence_of_element_located((By.ID, "dashboard")))
    return browser, wait, alice


def test_the_dashboard_draws_its_chart_from_files_served_here(operator_browser, live_server):
    from selenium.webdriver.common.by import By

    driver, wait, _ = operator_browser
    wait.until(lambda b: b.find_element(By.ID, "volume-chart").get_attribute("data-drawn") == "USD")
    table = driver.find_element(By.CSS_SELECTOR, '.dashboard-table[data-currency="USD"]').text
    assert "Deposit 1 100.00 USD" in table
    assert "Transfer 1 30.00 USD" in table
    # The chart has bars: its pixels are not all transparent.
    painted = driver.execute_script(
        "const c = document.getElementById('volume-chart');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n;"
    )
    assert painted > 1000
    shot(driver, "dashboard")
    # Every file the page loaded came from this server: no CDN.
    hosts = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);"
    )
    assert {urlsplit(url).netloc for url in hosts} == {urlsplit(live_server.url).netloc}
    assert any("chart.umd.min.js" in url for url in hosts)
    assert driver.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_a_statement_shows_in_the_browser_and_downloads_as_csv(operator_browser, live_server, tmp_path):
    from selenium.webdriver.common.by import By

    driver, wait, alice = operator_browser
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    driver.get(f"{live_server.url}/admin/accounts/account/{alice.pk}/change/")
    wait.until(lambda b: b.find_element(By.ID, "account-statement")).click()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    for name in ("start", "end"):
        field = wait.until(lambda b, name=name: b.find_element(By.ID, f"id_{name}"))
        field.clear()
        field.send_keys(today)
    driver.find_element(By.CSS_SELECTOR, "#statement-period input[type=submit]").click()
    closing = wait.until(lambda b: b.find_element(By.ID, "statement-closing")).text
    assert closing == "70.00 USD"
    rows = driver.find_elements(By.CSS_SELECTOR, "#statement-postings tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[4].text for r in rows] == ["the outside world", "Bob"]
    shot(driver, "statement")

    driver.find_element(By.ID, "statement-csv").click()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        done = [p for p in tmp_path.glob("statement-*.csv")]
        if done and not list(tmp_path.glob("*.crdownload")):
            break
        time.sleep(0.2)
    (downloaded,) = tmp_path.glob("statement-*.csv")
    with downloaded.open() as file:
        lines = list(csv.DictReader(file))
    assert [(r["type"], r["amount"], r["balance_after"]) for r in lines] == [
        ("opening", "", "0.00"),
        ("posting", "100.00", "100.00"),
        ("posting", "-30.00", "70.00"),
        ("credits", "100.00", ""),
        ("debits", "-30.00", ""),
        ("closing", "70.00", "70.00"),
    ]
