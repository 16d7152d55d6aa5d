"""Headless Chromium through Selenium for the browser tests (the owner's pages,
the operator console): Debian's chromium and chromium-driver, a profile in
the test's tmp dir, the browser's console log kept, and downloads to a
folder when asked. The driver is quit in the caller's teardown."""
import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                    reason="chromium and chromium-driver are not installed "
                                           "(scripts/deps.sh installs them)")


def start_chromium(tmp_path, size=(1280, 900), lang="en", downloads=None):
    """A headless Chromium of `size` (width, height) whose languages start with `lang`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=%d,%d" % size, "--user-data-dir=%s" % (tmp_path / "chromium"),
                "--lang=" + lang):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if downloads:
        options.add_experimental_option("prefs", {
            "download.default_directory": str(downloads), "download.prompt_for_download": False,
            "intl.accept_languages": lang})
    else:
        options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_path=str(tmp_path / "chromedriver.log")),
                              options=options)
    driver.set_page_load_timeout(30)
    if downloads:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


def console_errors(driver, expected=()):
    """The browser console's errors since the last call (Content-Security-Policy
    violations, script errors, failed requests), less those whose message
    contains one of `expected`."""
    return [e for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and not any(x in e["message"] for x in expected)]


def artifacts_dir(tmp_path, name):
    """Where screenshots go: $MAMORI_ARTIFACTS_DIR/NAME, or the test's tmp dir."""
    base = os.environ.get("MAMORI_ARTIFACTS_DIR")
    path = os.path.join(base, name) if base else str(tmp_path / "screenshots")
    os.makedirs(path, exist_ok=True)
    return path


def save_page(driver, path):
    """A screenshot of the whole page, not only the window's part of it."""
    size = driver.get_window_size()
    chrome, full = driver.execute_script(
        "return [window.outerHeight - window.innerHeight, document.documentElement.scrollHeight]")
    driver.set_window_size(size["width"], max(size["height"], full + chrome))
    try:
        driver.save_screenshot(path)
    finally:
        driver.set_window_size(size["width"], size["height"])
