"""The board page: structure, comments as a reader sees them, order, permalinks, health."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers import add_comments, post, soup


@pytest.mark.one_database
def test_page_has_title_language_viewport_favicon_and_stylesheet(client):
    page = soup(client.get("/"))
    assert page.title.get_text() == "Board"
    assert page.html["lang"] == "en"
    assert "width=device-width" in page.find("meta", {"name": "viewport"})["content"]
    icon = page.find("link", rel="icon")
    assert icon["href"].startswith("/static/favicon.svg")
    assert client.get(icon["href"]).status_code == 200
    stylesheet = page.find("link", rel="stylesheet")["href"]
    assert stylesheet.startswith("/static/board.css?v=")


@pytest.mark.one_database
def test_htmx_is_served_from_our_own_static_folder(client):
    scripts = [tag["src"] for tag in soup(client.get("/")).find_all("script")]
    assert any(src.startswith("/static/htmx.min.js") for src in scripts)
    assert all(src.startswith("/static/") for src in scripts)
    assert not soup(client.get("/")).find("script", src=False)  # no inline script


@pytest.mark.one_database
def test_form_has_labelled_fields_a_post_button_and_the_csrf_token(client):
    page = soup(client.get("/"))
    form = page.find("form", id="comment-form")
    assert form["action"] == "/comments" and form["method"] == "post"
    assert form["data-hx-post"] == "/comments"
    for name in ("author", "content"):
        field = form.find(attrs={"name": name})
        assert form.find("label", attrs={"for": field["id"]}).get_text(strip=True)
    assert form.find("textarea", attrs={"name": "content"})["maxlength"] == "4096"
    assert form.find("input", attrs={"name": "author"})["maxlength"] == "64"
    assert form.find("button", type="submit").get_text(strip=True) == "Post"
    token = form.find("input", {"name": "csrf_token", "type": "hidden"})["value"]
    assert page.find("meta", {"name": "csrf-token"})["content"]
    assert token


@pytest.mark.one_database
def test_empty_board_says_so(client):
    page = soup(client.get("/"))
    assert page.select("article.comment") == []
    assert "No comments yet" in page.select_one("#comments .empty").get_text()
    assert page.select_one("a.older") is None


def test_comment_shows_author_text_time_and_anchor(client, clock):
    clock.now = datetime(2017, 7, 7, 18, 47, 5, tzinfo=timezone.utc)
    post(client, "First line\nsecond line", author="Ada")
    article = soup(client.get("/")).select_one("article.comment")
    assert article["id"].startswith("comment-")
    assert article.select_one(".author").get_text() == "Ada"
    assert article.select_one(".content").get_text() == "First line\nsecond line"
    time = article.find("time")
    assert time["datetime"] == "2017-07-07T18:47:05Z"
    # Without JavaScript the server's time says its zone; board.js makes it "3 minutes ago".
    assert time.parent["class"] == ["permalink"]
    assert time.get_text() == time["title"] == "Friday, 07 July 2017 at 18:47 UTC"


def test_a_comment_shows_its_authors_initial_and_a_muted_anonymous(client):
    post(client, "Named", author="ada")
    post(client, "Unnamed")
    named, unnamed = soup(client.get("/")).select("article.comment")[::-1]
    avatar = named.select_one(".avatar")
    assert avatar.get_text() == "A" and avatar["aria-hidden"] == "true"
    assert [c for c in avatar["class"] if c.startswith("avatar-")]
    assert unnamed.select_one(".avatar").get_text() == "?"
    assert "anonymous" in unnamed.select_one(".avatar")["class"]
    assert "anonymous" in unnamed.select_one(".author")["class"]


def test_a_name_has_one_colour_everywhere(client):
    for text in ("One", "Two"):
        post(client, text, author="Grace")
    colours = {tuple(a["class"]) for a in soup(client.get("/")).select(".avatar")}
    assert len(colours) == 1


def test_your_own_comments_say_you_and_others_do_not(app, client):
    post(client, "Mine")
    other = app.test_client()
    post(other, "Theirs")
    mine, theirs = [a for a in soup(client.get("/")).select("article.comment")][::-1]
    assert mine.select_one(".you").get_text() == "you"
    assert theirs.select_one(".you") is None
    assert soup(other.get("/")).select(".you")[0].find_parent("article") is not None


def test_edit_says_how_long_is_left_and_goes_when_the_time_is_up(app, client, clock):
    clock.now = datetime(2017, 7, 7, 18, 47, 5, tzinfo=timezone.utc)
    post(client, "Fresh")
    actions = soup(client.get("/")).select_one(".own-actions")
    assert actions.select_one("a.edit").get_text(" ", strip=True).endswith("· 15 min")
    assert actions["data-until"] == "2017-07-07T19:02:05Z"
    clock.advance(seconds=14 * 60 + 30)
    assert soup(client.get("/")).select_one("a.edit .time-left").get_text() == " · 1 min"
    clock.advance(seconds=31)
    assert soup(client.get("/")).select_one(".own-actions") is None


def test_the_name_you_posted_under_is_offered_for_your_next_comment(app, client):
    assert soup(client.get("/")).find("input", {"name": "author"}).get("value", "") == ""
    post(client, "Hello", author="Ada")
    assert soup(client.get("/")).find("input", {"name": "author"})["value"] == "Ada"
    assert soup(app.test_client().get("/")).find("input", {"name": "author"}).get("value", "") == ""
    post(client, "Anonymous now")
    assert soup(client.get("/")).find("input", {"name": "author"}).get("value", "") == ""


def test_comment_without_a_name_is_by_anonymous(client):
    post(client, "No name given")
    assert soup(client.get("/")).select_one("article .author").get_text() == "Anonymous"


def test_board_time_zone_changes_the_shown_time_not_the_datetime_attribute(app, client, clock):
    app.config["BOARD_TIMEZONE"] = "Asia/Kolkata"
    clock.now = datetime(2017, 7, 7, 18, 47, 5, tzinfo=timezone.utc)
    post(client, "Namaste")
    time = soup(client.get("/")).select_one("article time")
    assert time["datetime"] == "2017-07-07T18:47:05Z"
    assert time.get_text() == "Saturday, 08 July 2017 at 00:17 IST"


def test_newest_first_with_ties_broken_by_id(app, client):
    same_moment = datetime(2021, 3, 3, 12, 0, 0, tzinfo=timezone.utc)
    older = add_comments(app, 2, start=datetime(2021, 3, 3, 11, tzinfo=timezone.utc))
    tied = add_comments(app, 3, start=same_moment, step=timedelta(0))
    shown = [int(a["id"].split("-")[1]) for a in soup(client.get("/")).select("article.comment")]
    assert shown == sorted(tied, reverse=True) + sorted(older, reverse=True)


def test_first_page_shows_the_newest_fifty_and_links_to_older(app, client):
    ids = add_comments(app, 60)
    page = soup(client.get("/"))
    shown = [int(a["id"].split("-")[1]) for a in page.select("article.comment")]
    assert shown == ids[::-1][:50]
    older = page.select_one("a.older")
    assert older["href"] == f"/?before={ids[10]}"
    assert older["data-hx-get"] == f"/comments?before={ids[10]}"


def test_each_comment_links_to_its_permalink_page(app, client):
    [comment_id] = add_comments(app, 1)
    link = soup(client.get("/")).select_one("article a.permalink")["href"]
    assert link == f"/comments/{comment_id}"
    page = soup(client.get(link))
    assert page.select_one(f"article#comment-{comment_id} .content").get_text() == "Comment 0"
    assert page.title.get_text() == "Comment by Seeder · Board"


@pytest.mark.one_database
def test_unknown_permalink_is_a_404_page(client):
    response = client.get("/comments/999999")
    assert response.status_code == 404
    page = soup(response)
    assert page.h1.get_text() == "Not found"
    assert "no such comment" in page.get_text()


def test_healthz_reports_ok_after_a_query(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.data) == {"status": "ok"}


@pytest.mark.one_database
def test_static_files_are_versioned_and_cached_long(client):
    href = soup(client.get("/")).find("link", rel="stylesheet")["href"]
    response = client.get(href)
    assert response.status_code == 200
    assert response.cache_control.max_age >= 365 * 24 * 3600
