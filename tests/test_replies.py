"""Replies and threads: a reply is POST /comments with `parent`; a reply to a reply joins the
thread of the comment it answers. The board shows threads newest first, each with its first
replies oldest first and "Show N more replies" for the rest; each thread's first comment keeps a
count of its visible replies, right after every post, hide, unhide, deletion and purge, also when
they happen at the same moment. Comments are Markdown, shown as safe HTML."""

import random
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from board import models, rules
from board.extensions import db
from tests.helpers import HTMX, add_comments, board_id, count, csrf_token, error_message, post, soup, \
    textarea_value

# --- Helpers ----------------------------------------------------------------------------------


def article_id(tag):
    return int(tag["id"].removeprefix("comment-"))


def posted_id(client, content="A comment", parent=None, **fields):
    """Post with htmx (a new thread, or a reply to `parent`) and return the stored id."""
    if parent is not None:
        fields["parent"] = str(parent)
    response = post(client, content, htmx=True, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    return article_id(soup(response).select_one("article.comment"))


def reply(client, parent, content="A reply", htmx=True, **fields):
    return post(client, content, htmx=htmx, parent=str(parent), **fields)


def add_replies(app, thread_id, n, parent_id=None, start=datetime(2021, 1, 1, tzinfo=timezone.utc)):
    """Insert n visible replies to a thread directly, oldest first, and set its count."""
    with app.app_context():
        replies = [models.Comment(author=f"Replier {i}", content=f"Reply {i}",
                                  posted=start + timedelta(seconds=i), thread_id=thread_id,
                                  parent_id=parent_id or thread_id, board_id=board_id())
                   for i in range(n)]
        db.session.add_all(replies)
        db.session.flush()
        db.session.execute(text("UPDATE comments SET replies = replies + :n WHERE id = :id"),
                           {"n": n, "id": thread_id})
        db.session.commit()
        return [reply.id for reply in replies]


def moderate(app, comment_id, verb):
    with app.app_context():
        models.moderate(comment_id, verb)


def stored(app, comment_id):
    with app.app_context():
        return db.session.get(models.Comment, comment_id)


def replies_column(app, thread_id):
    return stored(app, thread_id).replies


def thread_ids(html):
    return [int(section["id"].removeprefix("thread-")) for section in html.select("section.thread")]


def reply_ids(html, thread_id=None):
    scope = f"#thread-{thread_id} " if thread_id is not None else ""
    return [article_id(article) for article in html.select(scope + "article.reply")]


def reply_count(html, thread_id):
    """The count under a thread's first comment: (its text, whether it is hidden)."""
    span = html.select_one(f"#comment-{thread_id} .reply-count")
    return span.get_text(strip=True), span.has_attr("hidden")


def more_link(html, thread_id=None):
    scope = f"#thread-{thread_id} " if thread_id is not None else ""
    return html.select_one(scope + "a.more-replies")


def poll_url(html):
    return html.select_one("#poller")["data-hx-get"]


def cursors(url):
    query = parse_qs(urlsplit(url).query)
    return int(query["after"][0]), int(query["since"][0])


def own_action(client, comment_id, verb, **data):
    return client.post(f"/comments/{comment_id}/{verb}", headers=HTMX,
                       data={"csrf_token": csrf_token(client), **data})


def all_ids(app):
    with app.app_context():
        return db.session.execute(text("SELECT id FROM comments ORDER BY id")).all()


def visible_counts_differ(app):
    """Threads whose `replies` column differs from a fresh count of their visible replies."""
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT t.id, t.replies, (SELECT COUNT(*) FROM comments r"
            " WHERE r.thread_id = t.id AND r.state = 'visible')"
            " FROM comments t WHERE t.thread_id IS NULL ORDER BY t.id")).all()
    return [tuple(row) for row in rows if row[1] != row[2]]


# --- Posting a reply --------------------------------------------------------------------------


def test_a_reply_with_htmx_answers_201_with_just_the_reply(app, client):
    thread = posted_id(client, "Start")
    response = reply(client, thread, "Answer")
    assert response.status_code == 201
    html = soup(response)
    [article] = html.select("article")
    assert article["class"] == ["comment", "reply"]
    assert article["data-thread"] == str(thread)
    assert html.select("section.thread") == []
    stored_reply = stored(app, article_id(article))
    assert (stored_reply.parent_id, stored_reply.thread_id) == (thread, thread)
    assert stored_reply.content == "Answer"


def test_a_reply_without_htmx_redirects_to_its_permalink_with_it_marked(app, client):
    thread = posted_id(client, "Start")
    response = reply(client, thread, "Plain answer", htmx=False)
    assert response.status_code == 303
    [new] = [i for (i,) in all_ids(app) if i != thread]
    assert response.headers["Location"] == f"/comments/{new}#comment-{new}"
    page = soup(client.get(f"/comments/{new}"))
    marked = page.select_one(f"#comment-{new}")
    assert "marked" in marked["class"] and marked["aria-current"] == "true"
    assert page.select_one(f"#comment-{thread}") is not None


def test_a_reply_to_a_reply_joins_the_thread_and_says_whom_it_answers(app, client):
    thread = posted_id(client, "Start", author="Ann")
    first = posted_id(client, "Direct", parent=thread, author="Bob")
    second = posted_id(client, "To Bob", parent=first, author="Cid")
    assert (stored(app, second).parent_id, stored(app, second).thread_id) == (first, thread)
    page = soup(client.get("/"))
    assert reply_ids(page, thread) == [first, second]
    answer = page.select_one(f"#comment-{second} a.in-reply-to")
    assert answer["href"] == f"/comments/{first}"
    assert answer.get_text(" ", strip=True) == "in reply to Bob"
    assert page.select_one(f"#comment-{first} a.in-reply-to") is None
    assert page.select_one(f"#comment-{thread} a.in-reply-to") is None


def test_the_htmx_answer_to_a_reply_to_a_reply_names_the_thread_and_whom_it_answers(client):
    thread = posted_id(client, "Start")
    first = posted_id(client, "Direct", parent=thread)  # Anonymous
    article = soup(reply(client, first, "Nested")).select_one("article")
    assert article["data-thread"] == str(thread)
    link = article.select_one("a.in-reply-to")
    assert link["href"] == f"/comments/{first}"
    assert link.get_text(" ", strip=True) == "in reply to Anonymous"


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("removal", ["missing", "hide", "delete"])
def test_a_reply_to_a_missing_or_removed_comment_is_422_and_stores_nothing(app, client, removal,
                                                                          htmx):
    thread = posted_id(client, "Start")
    parent = thread + 1000 if removal == "missing" else thread
    if removal != "missing":
        moderate(app, thread, removal)
    before = count(app)
    response = reply(client, parent, "Too late", htmx=htmx)
    assert response.status_code == 422
    assert rules.PARENT_GONE in error_message(response)
    assert count(app) == before


@pytest.mark.parametrize("removal", ["hide", "delete"])
def test_with_htmx_a_reply_to_a_removed_comment_answers_its_reply_form(app, client, removal):
    thread = posted_id(client, "Start")
    moderate(app, thread, removal)
    response = reply(client, thread, "Kept text")
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == f"#reply-form-{thread}"
    form = soup(response).select_one(f"form#reply-form-{thread}")
    assert rules.PARENT_GONE in form.get_text(" ", strip=True)
    assert textarea_value(form.find("textarea")) == "Kept text"


MALFORMED_PARENTS = ["0", "0{id}", "00", "abc", "{id}x", "-{id}", "{id}.0", "2147483648",
                     "99999999999999999999"]


@pytest.mark.one_database
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("raw", MALFORMED_PARENTS)
def test_a_parent_that_cannot_be_an_id_is_422_and_stores_nothing(app, client, raw, htmx):
    thread = posted_id(client, "Start")
    before = count(app)
    response = post(client, "Hello", htmx=htmx, parent=raw.format(id=thread))
    assert response.status_code == 422
    assert rules.PARENT_MESSAGE in response.get_data(as_text=True)
    assert count(app) == before


@pytest.mark.one_database
def test_with_htmx_a_non_numeric_parent_swaps_nothing_and_says_why(app, client):
    posted_id(client, "Start")
    response = post(client, "Hello", htmx=True, parent="abc")
    assert response.status_code == 422
    assert response.headers["HX-Reswap"] == "none"
    assert "HX-Retarget" not in response.headers
    assert rules.PARENT_MESSAGE in soup(response).get_text(" ", strip=True)


@pytest.mark.one_database
def test_the_largest_id_is_a_valid_parent_number_that_does_not_exist(app, client):
    posted_id(client, "Start")
    response = reply(client, rules.ID_MAX, "Hello")
    assert response.status_code == 422
    assert rules.PARENT_GONE in response.get_data(as_text=True)


@pytest.mark.one_database
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_the_honeypot_on_a_reply_stores_nothing_and_looks_accepted(app, client, htmx):
    thread = posted_id(client, "Start")
    before = count(app)
    response = reply(client, thread, "Buy now", htmx=htmx, website="http://spam.example")
    assert response.status_code == (201 if htmx else 303)
    assert count(app) == before


@pytest.mark.one_database
def test_a_reply_needs_a_csrf_token(app, client):
    thread = posted_id(client, "Start")
    before = count(app)
    assert reply(client, thread, "No token", token=False).status_code == 400
    assert reply(client, thread, "No token", htmx=False, token=False).status_code == 400
    assert count(app) == before


@pytest.mark.one_database
def test_an_empty_reply_with_htmx_answers_its_form_with_the_message(app, client):
    thread = posted_id(client, "Start")
    before = count(app)
    response = reply(client, thread, "   ", author="Dee")
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == f"#reply-form-{thread}"
    form = soup(response).select_one(f"form#reply-form-{thread}")
    assert "Write a comment before posting." in form.get_text(" ", strip=True)
    assert form.find("input", {"name": "author"})["value"] == "Dee"
    assert count(app) == before


def test_a_double_submitted_reply_is_stored_once(app, client):
    thread = posted_id(client, "Start")
    before = count(app)
    first = reply(client, thread, "Same words")
    again = reply(client, thread, "Same words")
    assert first.status_code == again.status_code == 201
    stored_id = article_id(soup(first).select_one("article"))
    assert article_id(soup(again).select_one("article")) == stored_id
    assert count(app) == before + 1
    assert replies_column(app, thread) == 1
    # Without JavaScript the repeat goes where the first would have: the reply's own page.
    plain = reply(client, thread, "Same words", htmx=False)
    assert plain.status_code == 303
    assert plain.headers["Location"] == f"/comments/{stored_id}#comment-{stored_id}"
    assert count(app) == before + 1


def test_the_same_words_in_reply_to_two_comments_are_stored_twice(app, client):
    one, two = posted_id(client, "One"), posted_id(client, "Two")
    before = count(app)
    assert reply(client, one, "Agreed").status_code == 201
    assert reply(client, two, "Agreed").status_code == 201
    assert count(app) == before + 2


def test_a_reply_and_a_new_comment_with_the_same_words_are_both_stored(app, client):
    thread = posted_id(client, "Start")
    before = count(app)
    assert reply(client, thread, "Me too").status_code == 201
    assert post(client, "Me too", htmx=True).status_code == 201
    assert count(app) == before + 2


# --- The board page ---------------------------------------------------------------------------


def test_threads_newest_first_with_their_replies_oldest_first(app, client):
    older = posted_id(client, "Older thread")
    newer = posted_id(client, "Newer thread")
    a = posted_id(client, "a", parent=older)
    b = posted_id(client, "b", parent=newer)
    c = posted_id(client, "c", parent=a)
    page = soup(client.get("/"))
    assert thread_ids(page) == [newer, older]
    assert reply_ids(page, older) == [a, c]
    assert reply_ids(page, newer) == [b]
    # A reply is not a thread of its own, nor shown twice.
    assert len(page.select(f"#comment-{c}")) == 1


def test_replies_take_no_place_on_a_page_of_threads(app, client):
    threads = add_comments(app, 51)
    for thread in threads[-3:]:
        add_replies(app, thread, 4, start=datetime(2022, 1, 1, tzinfo=timezone.utc))
    page = soup(client.get("/"))
    assert thread_ids(page) == threads[:-51:-1]
    assert len(reply_ids(page)) == 9
    older = page.select_one("a.older")["href"]
    assert older == f"/?before={threads[1]}"
    assert thread_ids(soup(client.get(older))) == [threads[0]]


def test_each_first_comment_shows_its_visible_reply_count(app, client):
    none, one, two = (posted_id(client, f"Thread {n}") for n in range(3))
    posted_id(client, "r", parent=one)
    posted_id(client, "r1", parent=two)
    posted_id(client, "r2", parent=two)
    page = soup(client.get("/"))
    assert reply_count(page, none) == ("0 replies", True)
    assert reply_count(page, one) == ("1 reply", False)
    assert reply_count(page, two) == ("2 replies", False)
    assert page.select(f"#thread-{two} article.reply .reply-count") == []


def test_a_thread_shows_three_replies_and_a_link_to_the_rest(app, client):
    thread = posted_id(client, "Popular")
    replies = [posted_id(client, f"Reply {n}", parent=thread) for n in range(5)]
    page = soup(client.get("/"))
    assert reply_ids(page, thread) == replies[:3]
    more = more_link(page, thread)
    assert more.get_text(strip=True) == "Show 2 more replies"
    assert more["href"] == f"/comments/{thread}/replies?after={replies[2]}"
    assert more["data-hx-get"] == more["href"]


def test_one_more_reply_reads_singular_and_three_need_no_link(app, client):
    thread = posted_id(client, "Thread")
    replies = [posted_id(client, f"Reply {n}", parent=thread) for n in range(3)]
    assert more_link(soup(client.get("/")), thread) is None
    posted_id(client, "Reply 3", parent=thread)
    assert more_link(soup(client.get("/")), thread).get_text(strip=True) == "Show 1 more reply"
    moderate(app, replies[0], "hide")
    page = soup(client.get("/"))
    assert more_link(page, thread) is None
    assert len(reply_ids(page, thread)) == 3


def test_show_more_with_htmx_pages_through_a_long_thread(app, client):
    [thread] = add_comments(app, 1)
    replies = add_replies(app, thread, 230)
    page = soup(client.get("/"))
    assert reply_ids(page, thread) == replies[:3]
    more = more_link(page, thread)
    assert more.get_text(strip=True) == "Show 227 more replies"
    shown = 3
    for size, label in [(100, "Show 127 more replies"), (100, "Show 27 more replies"),
                        (27, None)]:
        response = client.get(more["data-hx-get"], headers=HTMX)
        assert response.status_code == 200
        html = soup(response)
        assert html.find("html") is None and html.find("form") is None
        assert html.select_one(f"#comment-{thread}") is None  # only the replies
        assert reply_ids(html) == replies[shown:shown + size]
        shown += size
        more = more_link(html)
        if label is None:
            assert more is None
        else:
            assert more.get_text(strip=True) == label
            assert more["href"] == f"/comments/{thread}/replies?after={replies[shown - 1]}"
    assert shown == 230


def test_show_more_without_javascript_is_the_thread_page_from_there_on(app, client):
    [thread] = add_comments(app, 1)
    replies = add_replies(app, thread, 230)
    href = more_link(soup(client.get("/")), thread)["href"]
    response = client.get(href)
    assert response.status_code == 200
    page = soup(response)
    assert page.find("html") is not None
    assert page.select_one(f"#comment-{thread}") is not None
    assert reply_ids(page, thread) == replies[3:103]
    more = more_link(page, thread)
    assert more.get_text(strip=True) == "Show 127 more replies"
    assert more["href"] == f"/comments/{thread}/replies?after={replies[102]}"


def test_show_more_skips_hidden_replies_and_counts_only_visible_ones(app, client):
    [thread] = add_comments(app, 1)
    replies = add_replies(app, thread, 8)
    for hidden in (replies[4], replies[6]):
        moderate(app, hidden, "hide")
    more = more_link(soup(client.get("/")), thread)
    assert more.get_text(strip=True) == "Show 3 more replies"
    html = soup(client.get(more["data-hx-get"], headers=HTMX))
    assert reply_ids(html) == [replies[3], replies[5], replies[7]]
    assert more_link(html) is None


@pytest.mark.one_database
def test_show_more_of_an_unknown_thread_or_a_reply_is_404(app, client):
    thread = posted_id(client, "Start")
    answer = posted_id(client, "A reply", parent=thread)
    assert client.get(f"/comments/{thread + 1000}/replies", headers=HTMX).status_code == 404
    assert client.get(f"/comments/{answer}/replies", headers=HTMX).status_code == 404
    assert client.get(f"/comments/{thread}/replies?after=x", headers=HTMX).status_code == 400


# --- Reply counts -----------------------------------------------------------------------------


def test_hiding_and_unhiding_a_reply_moves_the_count(app, client):
    thread = posted_id(client, "Start")
    first = posted_id(client, "One", parent=thread)
    second = posted_id(client, "Two", parent=first)
    assert replies_column(app, thread) == 2
    moderate(app, first, "hide")
    page = soup(client.get("/"))
    assert reply_count(page, thread) == ("1 reply", False)
    assert reply_ids(page, thread) == [second]
    moderate(app, first, "unhide")
    assert reply_count(soup(client.get("/")), thread) == ("2 replies", False)
    assert replies_column(app, thread) == 2


def test_deleting_a_hidden_reply_does_not_lower_the_count_twice(app, client):
    thread = posted_id(client, "Start")
    answer = posted_id(client, "One", parent=thread)
    moderate(app, answer, "hide")
    moderate(app, answer, "delete")
    assert replies_column(app, thread) == 0


def test_the_authors_delete_lowers_the_count(app, client):
    thread = posted_id(client, "Start")
    mine = posted_id(client, "Mine", parent=thread)
    posted_id(app.test_client(), "Theirs", parent=thread)
    assert own_action(client, mine, "delete").status_code == 200
    assert stored(app, mine).state == rules.DELETED
    assert replies_column(app, thread) == 1
    assert reply_count(soup(client.get("/")), thread) == ("1 reply", False)


def test_purging_a_visible_reply_lowers_the_count_and_a_hidden_one_does_not(app, client):
    thread = posted_id(client, "Start")
    shown, hidden, kept = (posted_id(client, f"Reply {n}", parent=thread) for n in range(3))
    moderate(app, hidden, "hide")
    assert replies_column(app, thread) == 2
    with app.app_context():
        models.purge(shown)
    assert replies_column(app, thread) == 1
    with app.app_context():
        models.purge(hidden)
    assert replies_column(app, thread) == 1
    assert reply_ids(soup(client.get("/")), thread) == [kept]


def test_purging_a_first_comment_with_replies_is_refused_and_deletes_nothing(app, client):
    thread = posted_id(client, "Start")
    answer = posted_id(client, "Reply", parent=thread)
    moderate(app, answer, "hide")  # even a hidden reply keeps its thread
    before = count(app)
    with app.app_context(), pytest.raises(models.Refused):
        models.purge(thread)
    assert count(app) == before
    assert stored(app, thread).state == rules.VISIBLE


def test_recounting_sets_every_threads_count_from_its_rows(app, client):
    one, two = posted_id(client, "One"), posted_id(client, "Two")
    for parent in (one, one, two):
        posted_id(client, f"Reply to {parent} {random.random()}", parent=parent)
    with app.app_context():
        db.session.execute(text("UPDATE comments SET replies = 7"))
        models.recount_replies()
        db.session.commit()
    assert (replies_column(app, one), replies_column(app, two)) == (2, 1)
    assert visible_counts_differ(app) == []


# --- Removed first comments -------------------------------------------------------------------


@pytest.mark.parametrize("removal", ["hide", "delete"])
def test_a_removed_first_comment_with_visible_replies_shows_as_removed_above_them(app, client,
                                                                                 removal):
    thread = posted_id(client, "Start")
    answer = posted_id(client, "Still here", parent=thread)
    moderate(app, thread, removal)
    page = soup(client.get("/"))
    assert thread_ids(page) == [thread]
    first = page.select_one(f"#thread-{thread} > article")
    assert first["id"] == f"comment-{thread}"
    assert {"comment", "removed"} <= set(first["class"])
    assert "This comment was removed" in first.get_text()
    assert "Start" not in page.select_one(f"#thread-{thread}").get_text()
    assert reply_ids(page, thread) == [answer]


@pytest.mark.parametrize("removal", ["hide", "delete"])
def test_a_removed_first_comment_without_visible_replies_is_not_listed(app, client, removal):
    bare = posted_id(client, "No replies")
    quiet = posted_id(client, "Only a hidden reply")
    moderate(app, posted_id(client, "Hidden reply", parent=quiet), "hide")
    other = posted_id(client, "Other")
    moderate(app, bare, removal)
    moderate(app, quiet, removal)
    page = soup(client.get("/"))
    assert thread_ids(page) == [other]
    assert page.select(".removed") == []


# --- The poll ---------------------------------------------------------------------------------


def test_the_pollers_after_is_the_last_id_handed_out_when_the_page_was_read(app, client):
    thread = posted_id(client, "Start")
    replies = [posted_id(client, f"Reply {n}", parent=thread) for n in range(5)]
    url = poll_url(soup(client.get("/")))
    assert cursors(url)[0] == replies[-1]
    # The two replies behind "Show 2 more replies" are not news.
    assert client.get(url, headers=HTMX).status_code == 204


def test_a_new_reply_arrives_in_the_poll_exactly_once(app, client):
    thread = posted_id(client, "Start")
    hidden_behind_more = [posted_id(client, f"Reply {n}", parent=thread) for n in range(5)]
    reader = app.test_client()
    url = poll_url(soup(reader.get("/")))
    new = posted_id(client, "Fresh reply", parent=thread)
    response = reader.get(url, headers=HTMX)
    assert response.status_code == 200
    answer = soup(response)
    assert [article_id(a) for a in answer.select("article.comment")] == [new]
    assert answer.select_one(f"#comment-{new}")["data-thread"] == str(thread)
    assert not set(hidden_behind_more) & {article_id(a) for a in answer.select("article")}
    next_url = poll_url(answer)
    assert cursors(next_url)[0] == new
    assert reader.get(next_url, headers=HTMX).status_code == 204


def test_an_edited_reply_comes_in_the_poll_as_a_change(app, client):
    thread = posted_id(client, "Start")
    mine = posted_id(client, "Teh reply", parent=thread)
    reader = app.test_client()
    url = poll_url(soup(reader.get("/")))
    assert own_action(client, mine, "edit", content="The reply").status_code == 200
    answer = soup(reader.get(url, headers=HTMX))
    [changed] = answer.select("[data-change]")
    assert changed["id"] == f"comment-{mine}"
    assert "reply" in changed["class"] and changed["data-thread"] == str(thread)
    assert changed.select_one(".content").get_text(strip=True) == "The reply"
    assert reader.get(poll_url(answer), headers=HTMX).status_code == 204


def test_a_hidden_reply_comes_in_the_poll_as_removed(app, client):
    thread = posted_id(client, "Start")
    answer_id = posted_id(client, "Soon hidden", parent=thread)
    reader = app.test_client()
    url = poll_url(soup(reader.get("/")))
    moderate(app, answer_id, "hide")
    answer = soup(reader.get(url, headers=HTMX))
    [changed] = answer.select("[data-change]")
    assert changed["id"] == f"comment-{answer_id}" and "removed" in changed["class"]


# --- Permalinks -------------------------------------------------------------------------------


def test_a_replys_permalink_shows_the_whole_thread_with_it_marked(app, client):
    thread = posted_id(client, "Start")
    replies = [posted_id(client, f"Reply {n}", parent=thread) for n in range(5)]
    response = client.get(f"/comments/{replies[1]}")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one(f"#thread-{thread} > #comment-{thread}") is not None
    assert reply_ids(page, thread) == replies
    marked = page.select("article.marked")
    assert [article_id(a) for a in marked] == [replies[1]]
    assert marked[0]["aria-current"] == "true"
    assert page.select("[aria-current]") == marked
    assert page.select_one("a.earlier-replies") is None


def test_a_first_comments_permalink_marks_it(app, client):
    thread = posted_id(client, "Start")
    answer = posted_id(client, "Reply", parent=thread)
    page = soup(client.get(f"/comments/{thread}"))
    assert [article_id(a) for a in page.select("article.marked")] == [thread]
    assert reply_ids(page, thread) == [answer]


def test_the_permalink_of_a_reply_beyond_the_first_hundred_starts_at_it(app, client):
    [thread] = add_comments(app, 1)
    replies = add_replies(app, thread, 105)
    target = replies[101]
    page = soup(client.get(f"/comments/{target}"))
    assert reply_ids(page, thread) == replies[101:]
    assert [article_id(a) for a in page.select("article.marked")] == [target]
    earlier = page.select_one("a.earlier-replies")
    assert earlier["href"] == f"/comments/{thread}"
    assert page.select_one(f"#comment-{thread}") is not None


def test_the_hundredth_reply_is_still_on_the_threads_first_run(app, client):
    [thread] = add_comments(app, 1)
    replies = add_replies(app, thread, 105)
    page = soup(client.get(f"/comments/{replies[99]}"))
    assert reply_ids(page, thread) == replies[:100]
    assert page.select_one("a.earlier-replies") is None
    assert more_link(page, thread).get_text(strip=True) == "Show 5 more replies"


@pytest.mark.parametrize("removal", ["hide", "delete"])
def test_a_removed_replys_permalink_is_404(app, client, removal):
    thread = posted_id(client, "Start")
    answer = posted_id(client, "Reply", parent=thread)
    moderate(app, answer, removal)
    assert client.get(f"/comments/{answer}").status_code == 404
    assert client.get(f"/comments/{thread}").status_code == 200


def test_a_removed_first_comments_permalink_shows_the_placeholder_and_the_replies(app, client):
    thread = posted_id(client, "Start")
    answer = posted_id(client, "Reply", parent=thread)
    moderate(app, thread, "hide")
    for url in (f"/comments/{thread}", f"/comments/{answer}"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = soup(response)
        first = page.select_one(f"#comment-{thread}")
        assert "removed" in first["class"] and "Start" not in first.get_text()
        assert reply_ids(page, thread) == [answer]
    moderate(app, answer, "hide")
    assert client.get(f"/comments/{thread}").status_code == 404


# --- The reply form ---------------------------------------------------------------------------


@pytest.mark.one_database
def test_the_reply_page_without_javascript_is_a_plain_form(app, client):
    thread = posted_id(client, "Answer me", author="Ann")
    response = client.get(f"/comments/{thread}/reply")
    assert response.status_code == 200
    page = soup(response)
    assert page.find("html") is not None
    assert page.select_one(f"article#comment-{thread}") is not None
    form = page.select_one(f"form#reply-form-{thread}")
    assert form["action"] == "/comments" and form["method"] == "post"
    assert not form.has_attr("data-hx-post")
    assert form.find("input", {"name": "parent"})["value"] == str(thread)
    assert form.find("input", {"name": "csrf_token"})["value"]


@pytest.mark.one_database
def test_the_reply_form_with_htmx_is_the_form_alone_posting_into_its_thread(app, client):
    thread = posted_id(client, "Answer me")
    response = client.get(f"/comments/{thread}/reply", headers=HTMX)
    assert response.status_code == 200
    html = soup(response)
    assert html.find("html") is None and html.select("article") == []
    [form] = html.find_all("form")
    assert form["id"] == f"reply-form-{thread}"
    assert form["data-hx-post"] == "/comments"
    assert form["data-hx-target"] == "closest .thread"
    assert form["data-hx-swap"] == "beforeend"
    assert form.find("input", {"name": "parent"})["value"] == str(thread)


@pytest.mark.one_database
def test_the_reply_form_of_a_reply_names_that_reply(app, client):
    thread = posted_id(client, "Start")
    answer = posted_id(client, "Reply", parent=thread)
    form = soup(client.get(f"/comments/{answer}/reply", headers=HTMX)).find("form")
    assert form.find("input", {"name": "parent"})["value"] == str(answer)
    link = soup(client.get("/")).select_one(f"#comment-{answer} a.reply")
    assert link["href"] == f"/comments/{answer}/reply"


@pytest.mark.parametrize("removal", ["hide", "delete"])
def test_the_reply_form_of_a_removed_comment_is_404(app, client, removal):
    thread = posted_id(client, "Start")
    moderate(app, thread, removal)
    assert client.get(f"/comments/{thread}/reply").status_code == 404
    assert client.get(f"/comments/{thread}/reply", headers=HTMX).status_code == 404


@pytest.mark.one_database
def test_a_plain_reply_with_an_error_comes_back_on_the_reply_page(app, client):
    thread = posted_id(client, "Answer me")
    before = count(app)
    response = reply(client, thread, "", htmx=False, author="Dee")
    assert response.status_code == 422
    page = soup(response)
    form = page.select_one(f"form#reply-form-{thread}")
    assert form is not None and not form.has_attr("data-hx-post")
    assert page.select_one(f"article#comment-{thread}") is not None
    assert form.find("input", {"name": "author"})["value"] == "Dee"
    assert "Write a comment before posting." in error_message(response)
    assert count(app) == before


# --- Authors' own replies ---------------------------------------------------------------------


def test_the_author_edits_a_reply_and_others_cannot(app, client):
    thread = posted_id(client, "Start")
    mine = posted_id(client, "Mine", parent=thread)
    other = app.test_client()
    assert own_action(other, mine, "edit", content="Hijacked").status_code == 403
    links = soup(client.get("/")).select(f"#comment-{mine} .own-actions a")
    assert [a["href"] for a in links] == [f"/comments/{mine}/edit", f"/comments/{mine}/delete"]
    response = own_action(client, mine, "edit", content="Mine, *edited*")
    assert response.status_code == 200
    article = soup(response).find("article")
    assert "reply" in article["class"] and article["data-thread"] == str(thread)
    assert article.select_one(".content em").get_text() == "edited"
    assert stored(app, mine).content == "Mine, *edited*"
    assert replies_column(app, thread) == 1


def test_another_client_cannot_delete_a_reply(app, client):
    thread = posted_id(client, "Start")
    mine = posted_id(client, "Mine", parent=thread)
    assert own_action(app.test_client(), mine, "delete").status_code == 403
    assert stored(app, mine).state == rules.VISIBLE
    assert replies_column(app, thread) == 1


def test_an_edited_reply_to_a_reply_still_says_whom_it_answers(app, client):
    thread = posted_id(client, "Start")
    first = posted_id(client, "Direct", parent=thread, author="Bob")
    mine = posted_id(client, "Nested", parent=first)
    article = soup(own_action(client, mine, "edit", content="Nested, edited")).find("article")
    assert article.select_one("a.in-reply-to").get_text(" ", strip=True) == "in reply to Bob"


# --- Markdown ---------------------------------------------------------------------------------


@pytest.mark.one_database
def test_markdown_shows_as_html_on_the_board(app, client):
    comment = posted_id(client, "*hi* and `code` and http://example.com")
    content = soup(client.get("/")).select_one(f"#comment-{comment} .content")
    assert content.find("em").get_text() == "hi"
    assert content.find("code").get_text() == "code"
    link = content.find("a")
    assert link["href"] == "http://example.com"
    assert link.get_text() == "http://example.com"
    assert link.get_attribute_list("rel") == ["nofollow", "ugc", "noopener"]


@pytest.mark.one_database
def test_markdown_in_a_reply_shows_as_html(app, client):
    thread = posted_id(client, "Start")
    answer = reply(client, thread, "**strong** words")
    assert soup(answer).select_one(".content strong").get_text() == "strong"


@pytest.mark.one_database
def test_html_in_a_comment_shows_as_text(app, client):
    comment = posted_id(client, "<script>alert(1)</script> <b>bold</b>")
    for url in ("/", f"/comments/{comment}"):
        page = soup(client.get(url))
        content = page.select_one(f"#comment-{comment} .content")
        assert content.find("script") is None and content.find("b") is None
        assert content.get_text(strip=True) == "<script>alert(1)</script> <b>bold</b>"


@pytest.mark.one_database
def test_the_edit_form_holds_the_markdown_source(app, client):
    source = "*hi* and `code`\n\n> quoted <tag>"
    comment = posted_id(client, source)
    for headers in (HTMX, {}):
        textarea = soup(client.get(f"/comments/{comment}/edit", headers=headers)).find("textarea")
        assert textarea_value(textarea) == source


def test_markdown_is_stored_as_source_and_rendered_html(app, client):
    comment = posted_id(client, "**bold** <i>")
    row = stored(app, comment)
    assert row.content == "**bold** <i>"
    assert row.html == "<p><strong>bold</strong> &lt;i&gt;</p>"


# --- The moderator's page ---------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


@pytest.fixture
def moderated(app_factory):
    return app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD))


def moderator(app):
    client = app.test_client()
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    response = client.post("/moderate/login", data={"password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    return client


def test_the_moderator_page_shows_replies_threads_and_reply_counts(moderated):
    author = moderated.test_client()
    thread = posted_id(author, "Start")
    first = posted_id(author, "Direct", parent=thread)
    nested = posted_id(author, "Nested", parent=first)
    lonely = posted_id(author, "Lonely")
    page = soup(moderator(moderated).get("/moderate/"))

    def info(comment_id):
        tag = page.select_one(f"#moderate-{comment_id} .thread-info")
        return tag.get_text(" ", strip=True) if tag else None

    assert info(first) == f"reply to #{thread}"
    assert info(nested) == f"reply to #{first} in thread #{thread}"
    assert info(thread) == "2 replies"
    assert info(lonely) is None


def test_the_moderator_hides_a_reply_and_the_count_follows(moderated):
    author = moderated.test_client()
    thread = posted_id(author, "Start")
    answer = posted_id(author, "Reply", parent=thread)
    client = moderator(moderated)
    token = soup(client.get("/moderate/")).find("input", {"name": "csrf_token"})["value"]
    response = client.post(f"/moderate/{answer}/hide", data={"csrf_token": token}, headers=HTMX)
    assert response.status_code == 200
    assert "hidden" in soup(response).find("article")["class"]
    assert replies_column(moderated, thread) == 0
    row = soup(client.get("/moderate/")).select_one(f"#moderate-{thread} .thread-info")
    assert row is None


# --- Concurrency ------------------------------------------------------------------------------

POSTERS, MODERATORS = 4, 3
OPERATIONS = 12  # each, at most
SECONDS = 2.0


def test_reply_counts_stay_right_under_concurrent_posts_hides_and_deletions(app):
    """Posters reply (to threads and to replies) and delete some of their own replies while
    moderators hide and unhide the same few replies; afterwards every count is a fresh COUNT."""
    seeder = app.test_client()
    threads = [posted_id(seeder, f"Thread {n}") for n in range(2)]
    targets = [posted_id(seeder, f"Seed reply {n}", parent=threads[n % 2]) for n in range(4)]
    deadline = [0.0]

    def start_the_clock():
        deadline[0] = time.monotonic() + SECONDS

    barrier = threading.Barrier(POSTERS + MODERATORS, action=start_the_clock)
    errors, done = [], []

    def poster(n):
        rng = random.Random(n)
        client = app.test_client()
        token = csrf_token(client)
        barrier.wait(timeout=30)
        for i in range(OPERATIONS):
            if time.monotonic() > deadline[0]:
                break
            parent = rng.choice(threads + targets)
            response = client.post("/comments", headers=HTMX, data={
                "csrf_token": token, "content": f"Poster {n}, reply {i}", "parent": str(parent)})
            if response.status_code == 422:  # a moderator hid the reply it answers
                continue
            if response.status_code != 201:
                errors.append(("post", response.status_code, response.get_data(as_text=True)))
                continue
            done.append("post")
            if i % 3 == 2:
                mine = article_id(soup(response).select_one("article"))
                deleted = client.post(f"/comments/{mine}/delete", headers=HTMX,
                                      data={"csrf_token": token})
                if deleted.status_code not in (200, 404):  # 404: a moderator hid it first
                    errors.append(("delete", deleted.status_code))
                done.append("delete")

    def moderator_(n):
        rng = random.Random(100 + n)
        barrier.wait(timeout=30)
        for _ in range(OPERATIONS):
            if time.monotonic() > deadline[0]:
                break
            with app.app_context():
                try:
                    models.moderate(rng.choice(targets), rng.choice(["hide", "unhide"]))
                    done.append("moderate")
                except models.Refused:
                    db.session.rollback()

    def guarded(work, n):
        try:
            work(n)
        except Exception as error:  # reported by the test, not lost in a thread
            errors.append(repr(error))

    workers = ([threading.Thread(target=guarded, args=(poster, n)) for n in range(POSTERS)]
               + [threading.Thread(target=guarded, args=(moderator_, n))
                  for n in range(MODERATORS)])
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers)
    assert not errors, errors
    assert done.count("post") > POSTERS and done.count("moderate") > 0
    assert visible_counts_differ(app) == []
