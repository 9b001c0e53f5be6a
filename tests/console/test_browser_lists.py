"""The console's lists in a real browser (headless Chromium, ``tests/console/test_browser.py``'s driver):
readable at 1400 px, searchable, ids that copy, dangerous actions that ask first.

- Every list, with long names, long references and big amounts, fits a 1400x900 window: the
  page does not scroll sideways and the results table fits its container.
- Search finds a transaction by its reference in another case, by an account's name and by
  its short id.
- An id's copy button hands the full id to the clipboard (read back where the browser grants
  the permission; otherwise the id the button passed to ``navigator.clipboard.writeText``).
- Freezing asks first: the confirmation page says what happens, Cancel changes nothing, and
  confirming with a reason freezes the account.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Account
from accounts.services import account_status_change
from events.models import Event
from harness.commands import run
from tests.console.helpers import OPERATORS, PASSWORD, make_user
from tests.console.test_browser import TIMEOUT, browser  # noqa: F401 (the browser fixture)
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.holds import hold_create
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 1400, 900
LONG_NAME = "Mrs Philippa Wolstenholme-Featherstonehaugh Family Trust Operating Account"
LONG_REFERENCE = ("INV-2026-11-" + "-".join(f"LINE{n:03d}" for n in range(30)))[:200]  # The longest there is.
LISTS = [
    "accounts/account",
    "transactions/transaction",
    "transactions/posting",
    "accounts/hold",
    "reconciliation/reconciliationrun",
    "audit/auditrecord",
    "webhooks/webhookendpoint",
    "webhooks/webhookdelivery",
    "auth/user",
    "authtoken/tokenproxy",
]


@pytest.fixture
def ledger_data(ledger_groups, settings):
    """An operator, customers with long names, big amounts, long references, a hold, audit records,
    a reconciliation run, a webhook endpoint with a delivery."""
    from webhooks.services import endpoint_create

    settings.LEDGER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    operator = make_user("olivia", groups=[ledger_groups[OPERATORS]])
    customer = UserFactory(username="wolstenholme-featherstonehaugh-trustees")
    rich = AccountFactory(owner=customer, name=LONG_NAME)
    bob = AccountFactory(owner=customer, name="Bob")
    services.deposit_create(
        actor=customer, account_id=rich.public_id, amount=Decimal("98765432109.87"), reference=LONG_REFERENCE
    )
    transfer = services.transfer_create(
        actor=customer,
        source_account_id=rich.public_id,
        destination_account_id=bob.public_id,
        amount=Decimal("12345678901.23"),
        reference="Rent-2026-11",
        description="A long description of what this transfer is for, " * 8,
    )
    hold_create(
        actor=customer,
        account_id=rich.public_id,
        destination_account_id=bob.public_id,
        amount="1234567890.12",
        reference=LONG_REFERENCE,
    )
    for action in ("freeze", "unfreeze"):
        account_status_change(operator=operator, account_id=bob.public_id, action=action, reason="A long reason, " * 20)
    run("reconcile")
    endpoint = endpoint_create(
        owner=customer,
        url="https://127.0.0.1:8443/hooks/" + "very-long-path-segment/" * 8,
        event_types=["transaction.posted", "transaction.reversed"],
        description="orders",
    )
    # A failed delivery, written directly: the relay's fan-out waits for older transactions of
    # the whole cluster to end, which parallel test runs keep open.
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=Event.objects.filter(type="transaction.posted").order_by("id").first(),
        status=WebhookDelivery.Status.FAILED,
        attempts=9,
        last_status_code=503,
        last_error="HTTP 503: " + "the receiver said it is overloaded and will not take more deliveries " * 5,
        created_at=timezone.now(),
    )
    return {"operator": operator, "rich": rich, "bob": bob, "transfer": transfer}


def _log_in(browser, live_server, username: str):  # noqa: F811 (browser: the fixture)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(WIDTH, HEIGHT)
    wait = WebDriverWait(browser, TIMEOUT)
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    wait.until(ec.presence_of_element_located((By.ID, "id_username"))).send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD + Keys.ENTER)
    wait.until(ec.title_contains("Site administration"))
    return wait


def _widths(browser) -> dict[str, int]:  # noqa: F811
    return browser.execute_script(
        """
        const root = document.documentElement, table = document.getElementById('result_list');
        const box = table ? table.closest('.results') || table.parentElement : null;
        return {scroll: root.scrollWidth, client: root.clientWidth, viewport: window.innerWidth,
                table: table ? table.scrollWidth : 0, box: box ? box.clientWidth : 0,
                rows: table ? table.tBodies[0].rows.length : 0};
        """
    )


def test_every_list_fits_1400_pixels_without_scrolling_sideways(live_server, browser, ledger_data):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait = _log_in(browser, live_server, "olivia")
    root = make_user("root", superuser=True)  # Users and tokens are the superuser's lists.
    assert root.is_superuser
    too_wide = {}
    for path in LISTS:
        if path.startswith("auth"):
            continue  # The operator may not see them: checked as the superuser below.
        browser.get(f"{live_server.url}/admin/{path}/")
        wait.until(ec.presence_of_element_located((By.ID, "changelist")))
        widths = _widths(browser)
        if os.environ.get("LEDGER_SCREENSHOTS_DIR"):  # Set it to look at the lists afterwards.
            browser.save_screenshot(str(Path(os.environ["LEDGER_SCREENSHOTS_DIR"]) / f"{path.replace('/', '-')}.png"))
        assert widths["viewport"] >= WIDTH - 20, widths  # The window really is 1400 px wide.
        assert widths["rows"] >= 1, (path, widths)  # With data in it.
        if widths["scroll"] > widths["client"] or widths["table"] > widths["box"]:
            too_wide[path] = widths
    browser.delete_all_cookies()
    wait = _log_in(browser, live_server, "root")
    for path in ("auth/user", "authtoken/tokenproxy"):
        browser.get(f"{live_server.url}/admin/{path}/")
        wait.until(ec.presence_of_element_located((By.ID, "changelist")))
        widths = _widths(browser)
        if widths["scroll"] > widths["client"] or widths["table"] > widths["box"]:
            too_wide[path] = widths
    assert too_wide == {}


def test_search_finds_by_reference_in_any_case_by_account_name_and_by_short_id(
    live_server,
    browser,  # noqa: F811
    ledger_data,
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec

    wait = _log_in(browser, live_server, "olivia")
    transfer = ledger_data["transfer"]

    def search(term: str) -> list[str]:
        browser.get(f"{live_server.url}/admin/transactions/transaction/")
        box = wait.until(ec.presence_of_element_located((By.ID, "searchbar")))
        box.send_keys(term + Keys.ENTER)
        wait.until(ec.url_contains("q="))
        chips = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody td.field-id_chip code.short-id")
        return [chip.get_attribute("title") for chip in chips]

    assert search("rent-2026-11") == [str(transfer.public_id)]
    assert search("WOLSTENHOLME") == [str(transfer.public_id), *_deposits_of(ledger_data["rich"])]
    assert search(str(transfer.public_id)[:8]) == [str(transfer.public_id)]


def _deposits_of(account: Account) -> list[str]:
    from transactions.models import Transaction

    deposits = Transaction.objects.filter(destination_account=account, kind="deposit").order_by("-id")
    return [str(txn.public_id) for txn in deposits]


def test_the_copy_button_copies_the_full_id(live_server, browser, ledger_data):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait = _log_in(browser, live_server, "olivia")
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": live_server.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    transfer = ledger_data["transfer"]
    browser.get(f"{live_server.url}/admin/transactions/transaction/?q={transfer.public_id}")
    button = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#result_list button.copy-id")))
    chip = browser.find_element(By.CSS_SELECTOR, "#result_list code.short-id")
    assert chip.text == str(transfer.public_id)[:8]  # The list shows the short id...
    assert chip.get_attribute("title") == str(transfer.public_id)  # ...and the whole one on hover.
    button.click()
    wait.until(lambda _: button.get_attribute("data-copy-state"))
    assert button.get_attribute("data-copied") == str(transfer.public_id)  # What went to the clipboard.
    assert button.get_attribute("data-copy-state") == "copied"
    pasted = browser.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('refused: ' + e));"
    )
    assert pasted == str(transfer.public_id)


def test_freezing_asks_first_cancel_changes_nothing_and_confirming_freezes(
    live_server,
    browser,  # noqa: F811
    ledger_data,
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait = _log_in(browser, live_server, "olivia")
    bob = ledger_data["bob"]
    page = f"{live_server.url}/admin/accounts/account/{bob.pk}/change/"

    def find(css: str):
        return wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    browser.get(page)
    freeze = find("#account-freeze")
    assert freeze.text == "FREEZE ACCOUNT…" or freeze.text == "Freeze account…"  # Django's tools are upper-cased.
    assert freeze.value_of_css_property("background-color") in ("rgba(186, 33, 33, 1)", "rgb(186, 33, 33)")
    close = find("#account-close")
    assert "danger" in close.get_attribute("class")
    freeze.click()
    assert "refuses every posting" in find("#what-happens").text
    find("#cancel-status-change").click()
    wait.until(ec.url_to_be(page))
    assert Account.objects.get(pk=bob.pk).status == Account.Status.ACTIVE  # Cancel changed nothing.

    find("#account-freeze").click()
    find("#id_reason").send_keys("Suspected fraud, ticket 4411")
    find("#confirm-status-change").click()
    assert "frozen" in find(".messagelist .success").text
    assert Account.objects.get(pk=bob.pk).status == Account.Status.FROZEN
    assert find("#account-unfreeze").text.lower() == "unfreeze account…"
