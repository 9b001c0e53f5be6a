"""An operator reverses a transaction in a real browser (headless Chromium via chromedriver).

Skipped, with the reason, where Chromium or chromedriver is missing (``scripts/install-browser``
installs Debian's); under CI (``CI`` set) a missing browser fails instead, so that CI cannot
pass without running it.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.console.helpers import OPERATORS, PASSWORD, make_user
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.models import Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("LEDGER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("LEDGER_CHROMEDRIVER", "/usr/bin/chromedriver")
TIMEOUT = 20


def _require_browser() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not (Path(path).is_file() and os.access(path, os.X_OK))]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (requirements-dev.txt)")
    if missing:
        reason = f"needs headless Chromium: missing {', '.join(missing)} (run scripts/install-browser)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test; {reason}")
        pytest.skip(reason)


@pytest.fixture
def browser(tmp_path, monkeypatch):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager must not look for drivers or report usage: there is no network.
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def test_an_operator_finds_and_reverses_a_transfer_in_the_browser(live_server, browser, ledger_groups):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    make_user("olivia", groups=[ledger_groups[OPERATORS]])
    customer = UserFactory(username="acme")
    alice = AccountFactory(owner=customer, name="Alice")
    bob = AccountFactory(owner=customer, name="Bob")
    services.deposit_create(actor=customer, account_id=alice.public_id, amount=Decimal("100.00"))
    transfer = services.transfer_create(
        actor=customer,
        source_account_id=alice.public_id,
        destination_account_id=bob.public_id,
        amount=Decimal("30.00"),
        reference="RENT-2026-11",
    )
    wait = WebDriverWait(browser, TIMEOUT)
    shots = os.environ.get("LEDGER_SCREENSHOTS_DIR")  # Set it to look at the pages afterwards.

    def find(css: str):
        return wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    def shot(name: str) -> None:
        if shots:
            browser.save_screenshot(str(Path(shots) / f"{name}.png"))

    # Log in.
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    find("#id_username").send_keys("olivia")
    find("#id_password").send_keys(PASSWORD + Keys.ENTER)
    wait.until(ec.title_contains("Site administration"))
    # The admin is styled: its stylesheet was served.
    assert find("#header").value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"

    # Search the transaction by its reference and open it.
    browser.get(f"{live_server.url}/admin/transactions/transaction/")
    find("#searchbar").send_keys("RENT-2026-11" + Keys.ENTER)
    wait.until(ec.url_contains("q=RENT-2026-11"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    shot("1-search")
    assert len(rows) == 1
    # Lists show a short id whose title is the full id; it links to the transaction.
    rows[0].find_element(By.CSS_SELECTOR, f'code.short-id[title="{transfer.public_id}"]').click()
    find("#reverse-transaction")
    shot("2-transaction")

    # Reverse it through the confirmation page, which shows the postings it will make.
    find("#reverse-transaction").click()
    preview = find("#reversal-preview").text
    assert "Bob" in preview
    assert "-30.00 USD" in preview
    assert "100.00 USD" in preview  # Alice's balance once reversed.
    find("#id_reason").send_keys("Paid to the wrong account")
    shot("3-confirmation")
    find("#confirm-reversal").click()

    message = find(".messagelist .success")
    shot("4-reversed")
    assert "reversed by" in message.text
    reversal = Transaction.objects.get(reverses=transfer)
    assert str(reversal.public_id) in message.text

    # Alice's page shows the money back.
    browser.get(f"{live_server.url}/admin/accounts/account/{alice.pk}/change/")
    assert "100.00 USD" in find(".fieldBox.field-balance .readonly").text
    shot("5-account")
    browser.get(f"{live_server.url}/admin/accounts/account/{bob.pk}/change/")
    assert find(".fieldBox.field-balance .readonly").text == "0.00 USD"
    alice.refresh_from_db()
    assert alice.balance_minor == 10000
