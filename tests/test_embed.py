"""Comments under any page of a listed site: the /embed page, who may frame what, boards made
by a page's first comment (signed page token, BOARD_EMBED_NEW_LIMIT), posting from a browser that
keeps the board's cookies out of a third-party iframe, and /api/counts.

The browser side (static/embed.js, resizing, an unlisted site) is tests/browser/test_embed.py."""

from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from board import boards
from board.extensions import db
from board.models import BOARDS
from board.rules import TITLE_MAX, slug_for_key
from tests.helpers import HTMX, add_comments, count, error_message, soup
from tests.test_query_count import statements

SITE = "https://blog.example.org"
OTHER = "https://other.example.net"
# The test client's own origin: what a browser sends as Origin on a post from the board's pages.
OURS = "http://localhost"


def embed_url(key="/post/1", origin=SITE, title="A walk in Lisbon"):
    return "/embed?" + urlencode({"key": key, "origin": origin, "title": title})


def directives(policy):
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def frame_ancestors(response):
    return directives(response.headers["Content-Security-Policy"])["frame-ancestors"]


def board_rows(app):
    with app.app_context():
        return db.session.execute(sa.select(BOARDS.c.key, BOARDS.c.title, BOARDS.c.comments)
                                  .where(BOARDS.c.key.is_not(None))).all()


def form_fields(response):
    """The comment form of a page or fragment: its action and its fields, as a browser sends them."""
    form = soup(response).find("form", id="comment-form")
    fields = {field["name"]: field.get("value", "") for field in form.find_all("input")
              if field.get("type") != "checkbox" or field.has_attr("checked")}
    return form["action"], fields


@pytest.fixture
def embedding(app_factory):
    return app_factory(BOARD_EMBED_ORIGINS=[SITE, OTHER])


@pytest.fixture
def reader(embedding):
    return embedding.test_client()


def post_from_page(client, page, content="First!", htmx=True, **headers):
    action, fields = form_fields(page)
    return client.post(action, data={**fields, "content": content},
                       headers={**(HTMX if htmx else {}), **headers})


# --- The embed page -------------------------------------------------------------------------

@pytest.mark.one_database
@pytest.mark.parametrize("origin", ["https://evil.example.com", "", "https://blog.example.org/",
                                    "HTTPS://BLOG.EXAMPLE.ORG"])
def test_embed_page_is_refused_for_a_site_that_is_not_listed(embedding, reader, origin):
    response = reader.get(embed_url(origin=origin))
    assert response.status_code == 403
    assert "BOARD_EMBED_ORIGINS" in error_message(response)
    assert board_rows(embedding) == []


@pytest.mark.one_database
def test_embed_page_is_refused_when_no_site_is_listed(client):
    response = client.get(embed_url())
    assert response.status_code == 403
    assert directives(response.headers["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]


@pytest.mark.one_database
def test_embed_page_is_refused_when_another_site_asked_for_it(reader):
    response = reader.get(embed_url(), headers={"Referer": "https://evil.example.com/post/1"})
    assert response.status_code == 403
    assert "another site" in error_message(response)
    # The listed site itself (its page's full address, or only its origin), or no Referer at all.
    for referrer in (SITE + "/post/1?x=1", SITE + "/", None):
        headers = {"Referer": referrer} if referrer else {}
        assert reader.get(embed_url(), headers=headers).status_code == 200


@pytest.mark.one_database
@pytest.mark.parametrize("key", [None, "", "post/1", "/a b", "/x\x00", "/" + "a" * 600])
def test_embed_page_refuses_a_key_that_is_not_a_path(embedding, reader, key):
    query = {"origin": SITE, **({"key": key} if key is not None else {})}
    response = reader.get("/embed?" + urlencode(query))
    assert response.status_code == 400
    assert "page key" in error_message(response)
    assert board_rows(embedding) == []


@pytest.mark.one_database
def test_embed_page_is_the_board_of_the_page_without_the_masthead(embedding, reader):
    response = reader.get(embed_url())
    assert response.status_code == 200
    page = soup(response)
    assert page.h1.get_text() == "A walk in Lisbon"
    assert page.find("header", class_="masthead") is None
    assert page.body["data-embed-origin"] == SITE
    action, fields = form_fields(response)
    slug = slug_for_key("/post/1")
    assert action == f"/b/{slug}/comments"
    assert fields["page"] and fields["csrf_token"]
    assert page.find(id="poller")["data-hx-get"].startswith(f"/b/{slug}/comments?after=")
    assert board_rows(embedding) == []  # made by its first comment, not by a view
    # A poll of the board that has no row yet: nothing new.
    poll = reader.get(f"/b/{slug}/comments?after=0", headers=HTMX)
    assert poll.status_code == 204


# --- Who may frame what ----------------------------------------------------------------------

@pytest.mark.one_database
def test_the_listed_sites_may_frame_the_board_and_nothing_else(app_factory):
    app = app_factory(BOARD_EMBED_ORIGINS=[SITE, OTHER],
                      BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash("x" * 12))
    client = app.test_client()
    [comment] = add_comments(app, 1)
    framed = {
        "the embed page": client.get(embed_url()),
        "a board": client.get("/"),
        "a poll": client.get("/comments?after=0", headers=HTMX),
        "a comment's page": client.get(f"/comments/{comment}"),
        "a reply form": client.get(f"/comments/{comment}/reply", headers=HTMX),
        "a board that does not exist": client.get("/b/nothing-here"),
    }
    for what, response in framed.items():
        assert frame_ancestors(response) == [SITE, OTHER], what
        assert "X-Frame-Options" not in response.headers, what
        policy = directives(response.headers["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], what
    never = {
        "the moderator's login": client.get("/moderate/login"),
        "the list of boards": client.get("/boards"),
        "recent comments": client.get("/recent"),
        "the API": client.get("/api/comments"),
        "counts": client.get("/api/counts?key=/post/1"),
        "a page that does not exist": client.get("/nope"),
        "a static file": client.get("/static/embed.js"),
    }
    for what, response in never.items():
        assert frame_ancestors(response) == ["'none'"], what
        assert response.headers["X-Frame-Options"] == "DENY", what


@pytest.mark.one_database
def test_without_listed_sites_nothing_may_be_framed(client):
    for response in (client.get("/"), client.get("/comments?after=0", headers=HTMX)):
        assert frame_ancestors(response) == ["'none'"]
        assert response.headers["X-Frame-Options"] == "DENY"


# --- A page's board, made by its first comment ------------------------------------------------

@pytest.mark.one_database
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-script"])
def test_first_comment_makes_the_pages_board_with_the_pages_title(embedding, reader, htmx):
    title = "  A\u202e long\n\ttitle " + "x" * 300
    page = reader.get(embed_url(title=title), headers={"Referer": SITE + "/post/1"})
    response = post_from_page(reader, page, htmx=htmx, Origin=OURS)
    assert response.status_code == (201 if htmx else 303)
    [(key, stored_title, comments)] = board_rows(embedding)
    assert key == "/post/1" and comments == 1
    assert stored_title == ("A long title " + "x" * 300)[:TITLE_MAX]
    # The board now has its row: its page shows the comment, and its form carries no token.
    again = reader.get(embed_url())
    assert "First!" in again.get_data(as_text=True)
    assert "page" not in form_fields(again)[1]
    assert post_from_page(reader, again, "Second", Origin=OURS).status_code == 201
    assert board_rows(embedding)[0].comments == 2


@pytest.mark.one_database
def test_a_page_without_a_title_is_titled_by_its_key(embedding, reader):
    page = reader.get("/embed?" + urlencode({"key": "/notes/", "origin": SITE}))
    assert post_from_page(reader, page).status_code == 201
    assert board_rows(embedding)[0].title == "/notes/"


@pytest.mark.one_database
def test_a_refused_first_comment_keeps_the_pages_token_for_the_next_try(embedding, reader):
    page = reader.get(embed_url())
    refused = post_from_page(reader, page, content=" ")
    assert refused.status_code == 422
    assert board_rows(embedding) == []
    assert form_fields(refused)[1]["page"] == form_fields(page)[1]["page"]
    assert post_from_page(reader, refused, content="Now with words").status_code == 201
    assert [row.key for row in board_rows(embedding)] == ["/post/1"]
    # Without scripts the refusal is the (still empty) board's page with the text kept.
    page = reader.get(embed_url(key="/post/2"))
    refused = post_from_page(reader, page, content=" ", htmx=False)
    assert refused.status_code == 422
    assert form_fields(refused)[1]["page"] == form_fields(page)[1]["page"]


@pytest.mark.one_database
def test_a_forged_or_borrowed_page_token_makes_no_board(embedding, reader):
    page = reader.get(embed_url())
    action, fields = form_fields(page)
    other = slug_for_key("/post/2")
    attempts = [
        (action, {**fields, "page": fields["page"][:-2] + "xx"}),  # not signed by us
        (action, {**fields, "page": "garbage"}),
        (action, {k: v for k, v in fields.items() if k != "page"}),  # no token at all
        (f"/b/{other}/comments", fields),  # /post/1's token on /post/2's board
    ]
    for n, (url, data) in enumerate(attempts):
        response = reader.post(url, data={**data, "content": f"Sneaky {n}"}, headers=HTMX)
        assert response.status_code == 404, (url, data.get("page"))
        assert "no such board" in error_message(response)
    with embedding.app_context():
        token = boards.page_token(boards.Unsaved(slug="x", key="no slash", title="t"))
    response = reader.post(action, data={**fields, "page": token, "content": "Sneaky"},
                           headers=HTMX)
    assert response.status_code == 404
    assert board_rows(embedding) == [] and count(embedding) == 0


@pytest.mark.one_database
def test_no_more_new_boards_an_hour_than_the_limit(app_factory):
    app = app_factory(BOARD_EMBED_ORIGINS=[SITE], BOARD_EMBED_NEW_LIMIT=2)
    client = app.test_client()
    for n in (1, 2):
        page = client.get(embed_url(key=f"/post/{n}"))
        assert post_from_page(client, page, f"On {n}").status_code == 201
    refused = post_from_page(client, client.get(embed_url(key="/post/3")), "On 3")
    assert refused.status_code == 429
    assert "many new comment pages" in error_message(refused)
    assert sorted(row.key for row in board_rows(app)) == ["/post/1", "/post/2"]
    assert count(app) == 2
    # Boards that exist still take comments.
    assert post_from_page(client, client.get(embed_url(key="/post/1")), "More").status_code == 201


# --- A browser that keeps the board's cookies out of the iframe ------------------------------

@pytest.mark.one_database
def test_a_post_without_the_session_cookie_from_our_own_page_is_accepted(embedding, reader):
    page = reader.get(embed_url())
    cookieless = embedding.test_client()  # the iframe's requests in a third-party setup
    response = post_from_page(cookieless, page, "From a strict browser", Origin=OURS)
    assert response.status_code == 201
    assert "From a strict browser" in response.get_data(as_text=True)
    # No cookie will carry the author's rights: no Edit or Delete is offered.
    assert soup(response).find("a", class_="edit") is None
    assert soup(response).find(string="Edit") is None
    assert count(embedding) == 1
    preview = embedding.test_client().post(form_fields(page)[0].replace("/comments", "/preview"),
                              data={"content": "*hi*"}, headers={**HTMX, "Origin": OURS})
    assert preview.status_code == 200 and soup(preview).em.get_text() == "hi"


@pytest.mark.one_database
def test_an_ordinary_post_keeps_its_edit_rights(embedding, reader):
    response = post_from_page(reader, reader.get(embed_url()), "Mine", Origin=OURS)
    assert response.status_code == 201
    assert soup(response).find(string="Edit") is not None


@pytest.mark.one_database
@pytest.mark.parametrize("origin", [None, "https://evil.example.com", SITE, "null"])
def test_a_post_without_the_session_cookie_from_anywhere_else_needs_its_token(
        embedding, reader, origin):
    page = reader.get(embed_url())
    cookieless = embedding.test_client()
    headers = {"Origin": origin} if origin else {}
    response = post_from_page(cookieless, page, "Forged", **headers)
    assert response.status_code == 400
    assert "expired" in error_message(response)
    assert count(embedding) == 0 and board_rows(embedding) == []


@pytest.mark.one_database
def test_a_post_with_the_session_cookie_is_checked_as_ever(embedding, reader):
    page = reader.get(embed_url())
    action, fields = form_fields(page)
    response = reader.post(action, data={**fields, "csrf_token": "wrong", "content": "x"},
                           headers={**HTMX, "Origin": OURS})
    assert response.status_code == 400
    assert count(embedding) == 0


@pytest.mark.one_database
def test_without_listed_sites_a_post_without_the_session_cookie_is_refused(app, client):
    page = client.get("/")
    response = post_from_page(app.test_client(), page, "x", Origin=OURS)
    assert response.status_code == 400
    assert count(app) == 0


# --- /api/counts ----------------------------------------------------------------------------

def test_counts_answer_every_key_in_one_statement(embedding, reader):
    for key, n in (("/post/1", 2), ("/About", 1)):
        page = reader.get(embed_url(key=key))
        for i in range(n):
            page_or_answer = post_from_page(reader, page, f"Comment {i} on {key}")
            assert page_or_answer.status_code == 201
            page = reader.get(embed_url(key=key))
    query = "/api/counts?" + urlencode([("key", k) for k in ("/post/1", "/about", "/About",
                                                             "/never")], doseq=True)
    reader.get(query)  # the pool connected before counting
    with statements(embedding) as sent:
        response = reader.get(query)
    assert response.status_code == 200
    # "/about" and "/About" are two pages, on every database.
    assert response.get_json() == {"counts": {"/post/1": 2, "/about": 0, "/About": 1, "/never": 0}}
    assert len(sent) == 1


@pytest.mark.one_database
def test_counts_are_briefly_cached_and_readable_by_listed_sites_only(reader):
    response = reader.get("/api/counts?key=/post/1", headers={"Origin": SITE})
    assert response.headers["Cache-Control"] == "public, max-age=30"
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "Origin" in response.headers["Vary"]
    for headers in ({"Origin": "https://evil.example.com"}, {}):
        assert "Access-Control-Allow-Origin" not in reader.get("/api/counts?key=/p",
                                                               headers=headers).headers


@pytest.mark.one_database
@pytest.mark.parametrize("query, message", [
    ("", "Name the pages"),
    ("key=", "page key"),
    ("key=/ok&key=no-slash", "page key"),
    ("key=/a%20b", "page key"),
    ("&".join(f"key=/p{n}" for n in range(101)), "at most 100"),
])
def test_counts_refuse_what_they_cannot_answer(reader, query, message):
    response = reader.get("/api/counts?" + query, headers={"Origin": SITE})
    assert response.status_code == 400
    assert message in error_message(response)
    # The listed site's script can read why.
    assert response.headers["Access-Control-Allow-Origin"] == SITE


@pytest.mark.one_database
def test_counts_take_a_hundred_keys(reader):
    query = "&".join(f"key=/p{n}" for n in range(100))
    response = reader.get("/api/counts?" + query)
    assert response.status_code == 200
    assert len(response.get_json()["counts"]) == 100
