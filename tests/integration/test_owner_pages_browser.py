"""The owner's pages in a real browser (headless Chromium through Selenium),
against the real mamorid: the activity page opened from the link in a real
new-login notice received by the SMTP relay reads right on a phone-sized
screen, then "this wasn't me" from the same mail, confirmed with the button,
locks the account and the app's webhook arrives; the browser's console shows
no error on any page. Screenshots go to the test's tmp dir."""
import pytest

from browser import console_errors, needs_chromium, start_chromium
from helpers import get_json
from owner_setup import LONDON, SECRET, links_in, new_login_notice, owner_mamorid
from peers import WebhookReceiver, wait_until

pytestmark = needs_chromium


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET).start()
    yield r
    r.stop()


@pytest.fixture
def browser(tmp_path):
    driver = start_chromium(tmp_path, size=(390, 844), lang="ja")
    try:
        yield driver
    finally:
        driver.quit()


def test_S1_owner_page_from_a_real_notice_then_this_wasnt_me(make_mamorid, sink, receiver,
                                                               browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    m = owner_mamorid(make_mamorid, sink, receiver)
    body = new_login_notice(m, sink, "mika", "mika@example.jp").get_content()
    [not_me], [activity] = links_in(body, m.url)

    # The activity page from the mail.
    browser.get(activity)
    assert browser.title == "ログイン履歴 - Test Shop", browser.title
    assert browser.find_element(By.TAG_NAME, "h1").text == "ログイン履歴"
    events = browser.find_elements(By.CSS_SELECTOR, "li.event")
    assert len(events) == 2
    newest = events[0]
    # New device and place: the app was told to ask for a second step.
    assert newest.find_element(By.CLASS_NAME, "what").text == "ログイン（追加の確認を求めました）"
    assert newest.find_element(By.CLASS_NAME, "where").text == "イギリス ロンドン"
    assert newest.find_element(By.CLASS_NAME, "device").text == "Linux の Firefox 133"
    assert newest.find_element(By.CLASS_NAME, "ip").text == LONDON
    # Fits a phone's width: nothing scrolls sideways; the style sheet applied.
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    assert browser.execute_script(
        "return getComputedStyle(document.querySelector('li.event')).borderRadius") != "0px"
    browser.save_screenshot(str(tmp_path / "owner-activity.png"))
    assert console_errors(browser) == []

    # "This wasn't me" from the same mail: the confirmation page, then its button.
    browser.get(not_me)
    assert browser.find_element(By.TAG_NAME, "h1").text == "身に覚えのないログインの報告"
    assert get_json(m, "/v1/accounts/mika")["status"] == "active"
    browser.save_screenshot(str(tmp_path / "owner-not-me.png"))
    assert console_errors(browser) == []
    browser.find_element(By.ID, "confirm").click()
    done = WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "locked")))
    assert "アカウントをロックしました" in done.text
    steps = browser.find_elements(By.CSS_SELECTOR, "ol li")
    assert any("パスワードを再設定するまで" in s.text for s in steps), [s.text for s in steps]
    browser.save_screenshot(str(tmp_path / "owner-locked.png"))
    assert console_errors(browser) == []

    a = get_json(m, "/v1/accounts/mika")
    assert a["status"] == "locked" and a["password_reset_required"] and a["lock"]["by"] == "owner"
    hooks = wait_until(lambda: [b for _, b in receiver.accepted() if b.get("type") == "account_locked"],
                       30, "the account_locked webhook")
    assert hooks[0]["account"] == "mika"

    # The mail's link again: it has acted once already.
    browser.get(not_me)
    assert browser.find_element(By.ID, "link-error").get_attribute("data-code") == "link_used"
