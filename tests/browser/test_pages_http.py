"""The pages' HTTP contract on the live server: statuses, redirects, cookies and headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from tests.conftest import PASSWORD

from manafidh.web.deps import SESSION_COOKIE
from manafidh.web.i18n import LANG_COOKIE


@pytest.fixture
def client(live_server: str) -> Iterator[httpx.Client]:
    """An HTTP client that does not follow redirects."""
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as c:
        yield c


def _sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/signin", data={"username": username, "password": password})


@pytest.mark.parametrize("path", ["/", "/dashboard"])
def test_without_a_session_a_page_sends_the_visitor_to_sign_in(client, path):
    r = client.get(path)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin"


def test_without_a_session_the_table_tells_htmx_to_go_to_sign_in(client):
    r = client.get("/dashboard/table")
    assert r.status_code == 401
    assert r.headers["hx-redirect"] == "/signin"


def test_a_wrong_password_answers_401_with_the_form_and_nothing_else(client):
    r = _sign_in(client, "omar.shl", "wrong password!")
    assert r.status_code == 401
    assert 'role="alert"' in r.text
    assert "<table" not in r.text
    assert SESSION_COOKIE not in r.cookies


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    unknown = _sign_in(client, "nobody", "wrong password!")
    wrong = _sign_in(client, "omar.shl", "wrong password!")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.text.replace("nobody", "omar.shl") == wrong.text


def test_an_empty_form_is_a_failed_sign_in_not_a_crash(client):
    assert client.post("/signin", data={}).status_code == 401


def test_signing_in_sets_an_http_only_same_site_session_cookie(client):
    r = _sign_in(client, "omar.shl")
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=lax", cookie, re.IGNORECASE)
    assert client.get("/dashboard").status_code == 200
    assert client.get("/signin").headers["location"] == "/dashboard"


def test_the_table_alone_is_served_for_htmx(client):
    _sign_in(client, "omar.shl")
    r = client.get("/dashboard/table")
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="board"')
    assert 'hx-trigger="every 30s"' in r.text
    assert "<html" not in r.text


def test_a_role_without_a_dashboard_gets_a_403_page(client):
    _sign_in(client, "rafidain")
    r = client.get("/dashboard")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert client.get("/dashboard/table").status_code == 403


def test_lang_sets_the_language_cookie_and_an_unknown_language_is_ignored(client):
    r = client.get("/signin?lang=en")
    assert '<html lang="en" dir="ltr">' in r.text
    assert r.cookies[LANG_COOKIE] == "en"
    r = client.get("/signin?lang=fr")
    assert '<html lang="en" dir="ltr">' in r.text
    assert LANG_COOKIE not in r.cookies


def test_pages_load_nothing_from_another_origin(client):
    r = client.get("/signin")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", r.text)
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


def test_htmx_2_and_the_stylesheet_are_served_locally(client):
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert 'version:"2.' in htmx.text
    assert client.get("/static/app.css").status_code == 200
