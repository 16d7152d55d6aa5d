"""The operator console's files as mamorid serves them, over plain HTTP (no
browser): /console redirects to /console/, index.html is not cached and names
its script and style sheet by content hash, those are cached for good, every
answer carries the strict Content-Security-Policy and framing is refused,
ETag/If-None-Match answer 304, HEAD answers the headers alone, text goes
gzipped to a client that takes it, and anything else under /console/ is 404;
with [console] enabled = false there are no console pages at all. The console's pages are not API operations
(docs/openapi.json), so these requests go around the answer checker."""
import gzip
import http.client
import re

import requests

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def get(m, path, method="GET", **headers):
    return requests.request(method, m.url + path, headers=headers, allow_redirects=False, timeout=10)


def assert_secure(r):
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def asset_paths(index_html):
    scripts = re.findall(r'<script type="module" src="(assets/app-[A-Za-z0-9]+\.js)"></script>', index_html)
    styles = re.findall(r'<link rel="stylesheet" href="(assets/style-[A-Za-z0-9]+\.css)">', index_html)
    assert len(scripts) == 1 and len(styles) == 1, index_html
    return "/console/" + scripts[0], "/console/" + styles[0]


def test_console_redirects_to_its_index(mamorid):
    r = get(mamorid, "/console")
    assert r.status_code == 303
    assert r.headers["Location"] == "/console/"
    assert_secure(r)


def test_index_is_not_cached_and_has_no_inline_script_or_style(mamorid):
    r = get(mamorid, "/console/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["ETag"]), r.headers["ETag"]
    assert_secure(r)
    html = r.text
    # Every script is a file; no inline script, style element, style attribute or handler.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts), scripts
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None
    # Nothing from elsewhere: the assets are the daemon's own.
    assert re.search(r"(src|href)=\"(https?:)?//", html) is None
    # A query string (a bookmarked hash route never sends one, a proxy might) is the same page.
    assert get(mamorid, "/console/?from=bookmark").text == html


def test_assets_are_content_hashed_and_cached_for_good(mamorid):
    script, style = asset_paths(get(mamorid, "/console/").text)
    js = get(mamorid, script)
    assert js.status_code == 200
    assert js.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert js.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert_secure(js)
    assert "/v1/operators/me" in js.text  # the console's own bundle
    assert re.search(r"https?://(?!www\.w3\.org/2000/svg)", js.text) is None, "no script from elsewhere"
    css = get(mamorid, style)
    assert css.status_code == 200
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "@import" not in css.text and "url(http" not in css.text
    assert js.headers["ETag"] != css.headers["ETag"]


def test_if_none_match_answers_304(mamorid):
    script, _ = asset_paths(get(mamorid, "/console/").text)
    for path in ("/console/", script):
        first = get(mamorid, path)
        etag = first.headers["ETag"]
        for sent in (etag, "W/" + etag, '"other", ' + etag, "*"):
            again = get(mamorid, path, **{"If-None-Match": sent})
            assert again.status_code == 304, (path, sent)
            assert again.content == b""
            assert again.headers["ETag"] == etag
            assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
            assert_secure(again)
        changed = get(mamorid, path, **{"If-None-Match": '"0123456789abcdef0123456789abcdef"'})
        assert changed.status_code == 200
        assert changed.content == first.content


def test_head_answers_the_headers_alone(mamorid):
    script, _ = asset_paths(get(mamorid, "/console/").text)
    for path in ("/console/", script):
        full = get(mamorid, path)
        head = get(mamorid, path, method="HEAD")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["Content-Length"] == full.headers["Content-Length"]
        assert head.headers["ETag"] == full.headers["ETag"]
        assert head.headers["Content-Type"] == full.headers["Content-Type"]
        assert_secure(head)


def raw_get(m, path, **headers):
    """The answer's status, headers and bytes as sent (no decoding)."""
    conn = http.client.HTTPConnection("127.0.0.1", m.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_text_is_sent_gzipped_to_clients_that_take_it(mamorid):
    script, style = asset_paths(get(mamorid, "/console/").text)
    for path in ("/console/", script, style):
        status, plain_headers, plain = raw_get(mamorid, path)
        assert status == 200 and "content-encoding" not in plain_headers
        assert plain_headers["vary"] == "Accept-Encoding"
        status, headers, packed = raw_get(mamorid, path, **{"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
        assert int(headers["content-length"]) == len(packed) < len(plain) * 0.9
        assert gzip.decompress(packed) == plain
        assert headers["etag"] != plain_headers["etag"]
        print("%s: %d bytes, %d gzipped" % (path, len(plain), len(packed)))
        # Each form is revalidated by its own tag.
        assert raw_get(mamorid, path, **{"Accept-Encoding": "gzip",
                                         "If-None-Match": headers["etag"]})[0] == 304
        assert raw_get(mamorid, path, **{"If-None-Match": headers["etag"]})[0] == 200
        refused = raw_get(mamorid, path, **{"Accept-Encoding": "gzip;q=0, br"})
        assert refused[2] == plain and "content-encoding" not in refused[1]


def test_unknown_paths_are_404_and_other_methods_405(mamorid):
    for path in ("/console/nope", "/console/assets/app-00000000.js", "/console/assets/",
                 "/console/index.html/x"):
        r = get(mamorid, path)
        assert r.status_code == 404, path
        assert_secure(r)
        assert r.headers["Cache-Control"] == "no-store"
    r = get(mamorid, "/console/", method="POST")
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"
    assert_secure(r)
    # A path that only starts with the word is not the console's: the API's 404.
    r = get(mamorid, "/consoles")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "Content-Security-Policy" not in r.headers


def test_no_console_pages_when_the_console_is_off(make_mamorid):
    m = make_mamorid(extra_toml="\n[console]\nenabled = false\n")
    for path in ("/console", "/console/"):
        r = get(m, path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"
        assert "Content-Security-Policy" not in r.headers
