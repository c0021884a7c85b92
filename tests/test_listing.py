"""Reading the board in pieces: the poll for newer comments and keyset pages of older ones."""

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.helpers import HTMX, add_comments, error_message, post, soup


def ids_in(html):
    return [int(a["id"].removeprefix("comment-")) for a in html.select("article.comment")]


def poller_query(html):
    url = urlsplit(html.select_one("#poller")["data-hx-get"])
    assert url.path == "/comments"
    query = dict(parse_qsl(url.query))
    assert query.pop("lang") == "en"  # the page's language: a shared answer is in it
    return {name: int(value) for name, value in query.items()}


def poller_after(html):
    return poller_query(html)["after"]


def poll_url(html):
    return html.select_one("#poller")["data-hx-get"]


def test_board_page_polls_from_the_newest_comment_shown(app, client):
    ids = add_comments(app, 3)
    page = soup(client.get("/"))
    poller = page.select_one("#comments > #poller")
    assert poller_query(page)["after"] == ids[-1]
    assert poller["data-hx-trigger"].startswith("every 5s")
    assert poller["data-hx-target"] == "this" and poller["data-hx-swap"] == "outerHTML"


@pytest.mark.one_database
def test_poll_interval_is_configurable(app, client):
    app.config["BOARD_POLL_SECONDS"] = 2
    assert soup(client.get("/")).select_one("#poller")["data-hx-trigger"].startswith("every 2s")


@pytest.mark.one_database
def test_a_board_polls_from_its_own_newest_so_its_open_tabs_ask_the_same_url(app, client):
    """Not from the last id handed out anywhere: every tab of a board that is up to date asks
    the same URL (one a shared cache may answer), whatever other boards did in between."""
    assert poller_after(soup(client.get("/"))) == 0
    first = client.get("/")
    add_comments(app, 3, board="elsewhere")
    second = client.get("/")
    assert soup(second).select_one("#poller")["data-hx-get"] == soup(first).select_one("#poller")["data-hx-get"]
    assert client.get(soup(second).select_one("#poller")["data-hx-get"], headers=HTMX).status_code == 204
    ids = add_comments(app, 2)
    assert poller_after(soup(client.get("/"))) == ids[-1]


def test_idle_poll_answers_204_with_no_body(app, client):
    ids = add_comments(app, 2)
    response = client.get(f"/comments?after={ids[-1]}", headers=HTMX)
    assert response.status_code == 204
    assert response.data == b""
    assert "Set-Cookie" not in response.headers


def test_poll_answers_newer_comments_newest_first_and_an_advanced_poller(app, client):
    first = add_comments(app, 2)
    newer = add_comments(app, 3, start=datetime(2021, 1, 1, tzinfo=timezone.utc))
    response = client.get(f"/comments?after={first[-1]}", headers=HTMX)
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.find("html") is None
    assert ids_in(fragment) == newer[::-1]
    assert poller_after(fragment) == newer[-1]
    # The poller comes first, so the answer that replaces it stacks on top of the list.
    assert fragment.find(True)["id"] == "poller"


def test_cursor_advances_so_a_comment_arrives_once(app, client):
    after = poller_after(soup(client.get("/")))
    seen = []
    for round in range(3):
        post(client, f"Round {round}")
        fragment = soup(client.get(f"/comments?after={after}", headers=HTMX))
        seen += ids_in(fragment)
        after = poller_after(fragment)
    assert client.get(f"/comments?after={after}", headers=HTMX).status_code == 204
    assert len(seen) == len(set(seen)) == 3


def test_a_burst_larger_than_a_page_arrives_over_several_polls_without_loss(app, client):
    ids = add_comments(app, 120)
    seen, after = [], 0
    while (response := client.get(f"/comments?after={after}", headers=HTMX)).status_code == 200:
        fragment = soup(response)
        seen += ids_in(fragment)
        after = poller_after(fragment)
    assert sorted(seen) == ids


def test_load_older_walks_every_comment_once_in_order(app, client):
    ids = add_comments(app, 120)
    page = soup(client.get("/"))
    shown = ids_in(page)
    link = page.select_one("a.older")
    while link is not None:
        fragment = soup(client.get(link["data-hx-get"], headers=HTMX))
        assert fragment.find("html") is None
        shown += ids_in(fragment)
        link = fragment.select_one("a.older")
    assert shown == ids[::-1]


def test_older_pages_without_javascript_are_plain_links(app, client):
    ids = add_comments(app, 120)
    shown, url = [], "/"
    while url:
        page = soup(client.get(url))
        assert page.find("form", id="comment-form") is not None
        shown += ids_in(page)
        link = page.select_one("a.older")
        url = link["href"] if link else None
    assert shown == ids[::-1]


def test_older_page_has_no_poller_and_posts_without_htmx(app, client):
    ids = add_comments(app, 60)
    page = soup(client.get(f"/?before={ids[20]}"))
    assert page.select_one("#poller") is None
    assert not page.find("form", id="comment-form").has_attr("data-hx-post")
    assert page.find("a", string="Back to the newest comments")["href"] == "/"


def test_keyset_pages_follow_posted_then_id_not_insertion_order(app, client):
    late = add_comments(app, 30, start=datetime(2030, 1, 1, tzinfo=timezone.utc))
    early = add_comments(app, 30, start=datetime(2010, 1, 1, tzinfo=timezone.utc))
    tied = add_comments(app, 45, start=datetime(2020, 1, 1, tzinfo=timezone.utc), step=timedelta(0))
    expected = late[::-1] + tied[::-1] + early[::-1]
    page = soup(client.get("/"))
    shown = ids_in(page)
    while link := page.select_one("a.older"):
        page = soup(client.get(link["data-hx-get"], headers=HTMX))
        shown += ids_in(page)
    assert shown == expected


def test_limit_sets_the_page_size(app, client):
    add_comments(app, 30)
    assert len(ids_in(soup(client.get("/?limit=7")))) == 7
    assert len(ids_in(soup(client.get("/comments?before=999999999&limit=3", headers=HTMX)))) == 0


@pytest.mark.one_database
def test_fragment_urls_without_htmx_redirect_to_the_page(app, client):
    ids = add_comments(app, 3)
    response = client.get(f"/comments?before={ids[1]}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/?before={ids[1]}"
    assert client.get("/comments?after=0").headers["Location"] == "/"


@pytest.mark.one_database
def test_listing_answers_vary_on_hx_request(client):
    assert "HX-Request" in client.get("/").headers["Vary"]


@pytest.mark.one_database
@pytest.mark.parametrize(
    "query",
    ["before=abc", "before=-1", "before=0", "before=1.5", "before=1e3", "before=",
     "after=-5", "after=x", "after=99999999999999999999999", "limit=0", "limit=101",
     "limit=-1", "limit=ten", "before=1&after=1", "before=%00"],
)
@pytest.mark.parametrize("path, headers", [("/comments", HTMX), ("/", {})])
def test_invalid_cursors_and_limits_are_a_400_with_a_reason(client, path, headers, query):
    response = client.get(f"{path}?{query}", headers=headers)
    assert response.status_code == 400
    assert error_message(response)


def test_unknown_cursor_gives_an_empty_older_page(client):
    page = soup(client.get("/?before=123456"))
    assert ids_in(page) == []
    assert "no older comments" in page.select_one(".empty").get_text()
