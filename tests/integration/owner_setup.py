"""What the owner-page tests share: a mamorid with an SMTP relay, a webhook
receiver, the GeoIP test city database and [owner_pages] pointing at itself,
and a new-login notice from a real login."""
import os
import re

from conftest import SOURCE_DIR
from test_notices import set_contact

GEOIP_CITY = os.path.join(SOURCE_DIR, "tests", "data", "geoip", "GeoLite2-City-Test.mmdb")
SECRET = "whsec-owner-0123456789"
SERVICE = "Test Shop"
HELP = "https://shop.example/help/security"

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Safari/537.36")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
TOKYO = "2001:240::10"      # JP, no city
LONDON = "81.2.69.142"      # GB, London (ロンドン, イギリス)


def owner_mamorid(make_mamorid, sink, receiver, extra_toml=""):
    """A started mamorid whose owner links point at itself (`extra_toml`: more
    config, e.g. another store)."""
    m = make_mamorid(start=False, extra_toml=extra_toml + """
[geoip]
city = "%s"

[notify]
service_name = "%s"
help_url = "%s"
retry_initial = "200ms"
retry_max = "1s"

[smtp]
host = "127.0.0.1"
port = %d
starttls = "off"
from = "Test Shop <noreply@shop.example>"

[[webhooks]]
url = "%s"
secret = "%s"
""" % (GEOIP_CITY, SERVICE, HELP, sink.port, receiver.url, SECRET))
    with open(m.config_path, "a") as f:
        f.write('\n[owner_pages]\nbase_url = "%s/"\n' % m.url)
    return m.start()


def new_login_notice(m, sink, account, address, lang="ja"):
    """The account's first login (Tokyo, Chrome on Windows), then one from a
    new device and place (London, Firefox on Linux): returns the new-login
    mail."""
    set_contact(m, account, address, lang=lang)
    assert m.result(account, TOKYO, True, user_agent=CHROME_WIN, device_id="pc-1")["action"] == "allow"
    r = m.result(account, LONDON, True, user_agent=FIREFOX_LINUX)
    assert r["new_device"] and r["new_location"] and r["notified"], r
    [msg] = [x for x in sink.wait_for(1) if x.envelope["rcpt_tos"] == [address]]
    assert msg["X-Mamori-Notice"] == "new_login"
    return msg


def links_in(body, base):
    """The (not-me, activity) URLs of a notice."""
    not_me = re.findall(re.escape(base) + r"/owner/not-me\?t=[A-Za-z0-9_-]+", body)
    activity = re.findall(re.escape(base) + r"/owner/activity\?t=[A-Za-z0-9_-]+", body)
    return not_me, activity
