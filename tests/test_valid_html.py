"""Every page and fragment the board serves is valid HTML: the W3C Nu HTML Checker (vnu.jar, npm's
`vnu-jar` on Java: harness/vnu.py) finds no error in any of them.

One test renders them all through the test client (pages on their own; fragments inside a
minimal document, in a <main> as htmx places them in a page), writes them to a folder and runs
the checker once over all of it: the JVM takes seconds to start. It also checks that every
template was used, so a new page or fragment cannot go unchecked: add a request for it below.
"""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from board import boards, notifications, rules
from board.extensions import db
from harness import vnu
from tests.helpers import HTMX, add_comments, soup, unavailable

PASSWORD = "correct horse battery staple"
SITE = "https://blog.example.org"
# A moderator's row refers to the list's form of bulk actions (its checkbox's form="bulk").
MODERATION_PAGE = '<form id="bulk" action="/moderate/bulk" method="post"></form>\n'
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Not HTML pages of the board: emails (HTML for mail clients) and the Atom feed.
NOT_PAGES = ("email/", "feed.xml")

FRAGMENT = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>A fragment: {label}</title></head>
<body><main>
{around}{body}
</main></body>
</html>
"""


class Pages:
    """What was rendered, by label: each response is checked for its status and kept."""

    def __init__(self, folder):
        self.folder = folder
        self.files = {}

    def add(self, label, response, status=200, around=""):
        """`around`: what the page a fragment lands in has that it refers to."""
        body = response.get_data(as_text=True)
        assert response.status_code == status, (label, response.status_code, body[:500])
        assert response.mimetype == "text/html", (label, response.mimetype)
        if not body.lstrip().lower().startswith("<!doctype html>"):
            body = FRAGMENT.format(label=label, around=around, body=body)
        name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + ".html"
        assert name not in {path.name for path in self.files.values()}, f"two pages named {name}"
        path = self.folder / name
        path.write_text(body, encoding="utf-8")
        self.files[label] = path
        return response


def token_in(response, form_id=None):
    page = soup(response)
    form = page.find("form", id=form_id) if form_id else page
    found = form.find("input", {"name": "csrf_token"})
    return found["value"] if found else page.find("meta", {"name": "csrf-token"})["content"]


def posted_id(response):
    return int(soup(response).find("article")["id"].removeprefix("comment-"))


def used_templates(app, seen):
    """Record every template `app` loads, includes and extends too."""
    loader = app.jinja_env.loader
    get_source = loader.get_source

    def recording(environment, name):
        seen.add(name)
        return get_source(environment, name)

    loader.get_source = recording


def render_everything(app_factory, pages):
    seen = set()
    settings = dict(
        BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD),
        BOARD_SMTP_URL="smtp://127.0.0.1:9", BOARD_MAIL_FROM="Board <board@example.org>",
        BOARD_EMBED_ORIGINS=[SITE], BOARD_PAGE_SIZE=3, BOARD_LOGIN_LIMIT="1000 per minute",
        PROPAGATE_EXCEPTIONS=False,
    )
    app = app_factory(**settings)
    used_templates(app, seen)

    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    ann, bob = app.test_client(), app.test_client()

    # The default board, empty, then with threads, replies and the author's own comments.
    empty = pages.add("board, empty", ann.get("/"))
    seeded = add_comments(app, 5)
    token = token_in(empty)

    def post(client, content, htmx=True, status=201, path="/comments", **fields):
        return client.post(path, headers=HTMX if htmx else {},
                           data={"csrf_token": token_in(client.get("/")) if client is not ann
                                 else token, "content": content, **fields})

    first = posted_id(pages.add("post answer, a new thread (htmx)", post(
        ann, "A *thread* with [a link](https://example.org) and `code`\n\n> quoted\n\n- a list"),
        201))
    replies = [posted_id(post(bob if i % 2 else ann, f"Reply {i}", parent=str(first)))
               for i in range(5)]
    pages.add("post answer, a reply (htmx)",
              post(ann, "One more reply", parent=str(replies[0])), 201)
    long_text = "A long comment that folds. " * 40
    own = posted_id(post(ann, long_text))
    pages.add("board, with threads", ann.get("/"))
    pages.add("board, as another reader", bob.get("/"))
    pages.add("board, older page", ann.get(f"/?before={own}"))
    pages.add("older page (htmx)", ann.get(f"/comments?before={own}", headers=HTMX))
    pages.add("board, a page at the end", ann.get(f"/?before={seeded[1]}"))

    # The poll: a new comment, a reply and a change since the page was served.
    poll = soup(bob.get("/")).find(id="poller")["data-hx-get"]
    post(ann, "News from the poll")
    post(ann, "A reply by poll", parent=str(first))
    ann.post(f"/comments/{own}/edit", headers=HTMX,
             data={"csrf_token": token, "content": long_text + " Edited."})
    pages.add("poll answer (htmx)", bob.get(poll, headers=HTMX))

    # A thread, its replies, the reply form.
    pages.add("thread page", ann.get(f"/comments/{first}"))
    pages.add("thread page, a reply marked", bob.get(f"/comments/{replies[2]}"))
    pages.add("comment (htmx)", ann.get(f"/comments/{own}", headers=HTMX))
    pages.add("more replies page", ann.get(f"/comments/{first}/replies?after={replies[1]}"))
    pages.add("more replies (htmx)",
              ann.get(f"/comments/{first}/replies?after={replies[1]}", headers=HTMX))
    pages.add("reply page", bob.get(f"/comments/{first}/reply"))
    pages.add("reply form (htmx)", bob.get(f"/comments/{first}/reply", headers=HTMX))

    # Refusals of a post and previews, with htmx and without.
    pages.add("board, post refused", post(ann, "", htmx=False, author="Ann"), 422)
    pages.add("form, post refused (htmx)", post(ann, "x" * 5000), 422)
    pages.add("reply page, reply refused", post(ann, "", htmx=False, parent=str(first)), 422)
    pages.add("reply form, reply refused (htmx)", post(ann, "", parent=str(first)), 422)
    pages.add("preview (htmx)", post(ann, "*Hello* <b>there</b>", path="/preview"), 200)
    pages.add("preview refused (htmx)", post(ann, "", path="/preview"), 422)
    pages.add("board, with a preview", post(ann, "**Bold**", htmx=False, path="/preview"), 200)
    pages.add("reply page, with a preview",
              post(ann, "A reply, previewed", htmx=False, path="/preview", parent=str(first)), 200)

    # The author's edit and delete.
    pages.add("edit page", ann.get(f"/comments/{own}/edit"))
    pages.add("edit form (htmx)", ann.get(f"/comments/{own}/edit", headers=HTMX))
    pages.add("edit page, refused", ann.post(f"/comments/{own}/edit",
                                             data={"csrf_token": token, "content": ""}), 422)
    pages.add("edit form, refused (htmx)", ann.post(f"/comments/{own}/edit", headers=HTMX,
                                                    data={"csrf_token": token, "content": ""}), 422)
    pages.add("edit answer (htmx)", ann.post(f"/comments/{own}/edit", headers=HTMX,
                                             data={"csrf_token": token, "content": "Short now"}))
    pages.add("delete page", ann.get(f"/comments/{own}/delete"))
    pages.add("delete form (htmx)", ann.get(f"/comments/{own}/delete", headers=HTMX))
    pages.add("delete answer (htmx)", ann.post(f"/comments/{own}/delete", headers=HTMX,
                                               data={"csrf_token": token}))
    ann.post(f"/comments/{first}/delete", data={"csrf_token": token})  # its replies stay
    pages.add("thread page, its first comment removed", bob.get(f"/comments/{replies[1]}"))

    # Other boards, held comments, /boards and /recent.
    with app.app_context():
        boards.create("quiet", "A quiet board")
        boards.set_moderation("quiet", "all")
        boards.create("closed", "A closed board")
        boards.set_state("closed", rules.CLOSED)
        boards.create("archived", "An archived board")
        boards.set_state("archived", rules.ARCHIVED)
    held = post(ann, "Wait for me", path="/b/quiet/comments")
    pages.add("post answer, held (htmx)", held, 201)
    pages.add("board, the author's held comment", ann.get("/b/quiet"))
    pages.add("board, closed", bob.get("/b/closed"))
    pages.add("board, archived", bob.get("/b/archived"))
    pages.add("boards page", bob.get("/boards"))
    pages.add("boards page, older", bob.get("/boards?limit=1"))
    pages.add("more boards (htmx)", bob.get("/boards?limit=1", headers=HTMX))
    pages.add("recent page", bob.get("/recent"))
    recent_older = soup(bob.get("/recent")).find("a", attrs={"data-hx-get": True})["href"]
    pages.add("recent page, older", bob.get(recent_older))
    pages.add("older recent (htmx)", bob.get(recent_older, headers=HTMX))

    # Subscriptions by email: the form's answers, the links in the emails.
    form = soup(bob.get("/")).find("form", id="subscribe-form")
    subscribe = {"csrf_token": form.find("input", {"name": "csrf_token"})["value"],
                 "board": form.find("input", {"name": "board"})["value"]}
    pages.add("subscribe answer (htmx)", bob.post("/subscribe", headers=HTMX,
                                                  data={**subscribe, "email": "cat@example.org"}))
    pages.add("subscribe answer, refused (htmx)", bob.post(
        "/subscribe", headers=HTMX, data={**subscribe, "email": "not an address"}), 422)
    pages.add("subscribe page, refused", bob.post(
        "/subscribe", data={**subscribe, "email": "not an address"}), 422)
    bob.post("/subscribe", data={**subscribe, "email": "dan@example.org"})
    pages.add("board, with a message", bob.get("/"))
    with app.app_context():
        address = db.session.execute(sa.text(
            "SELECT id, email FROM addresses WHERE email = 'cat@example.org'")).one()
        board = boards.find(app.config["BOARD_DEFAULT_SLUG"])
        confirm = notifications.confirm_token(address.id, address.email, board.id)
        unsubscribe = {what: notifications.unsubscribe_token(address.id, address.email, what,
                                                             board.id)
                       for what in (notifications.REPLIES, notifications.BOARD,
                                    notifications.ADDRESS)}
    pages.add("confirm page", bob.get(f"/confirm/{confirm}"))
    pages.add("confirm page, done", bob.post(f"/confirm/{confirm}",
                                             data={"csrf_token": token_in(bob.get("/"))}))
    for what, link in unsubscribe.items():
        pages.add(f"unsubscribe page, {what}", bob.get(f"/unsubscribe/{link}"))
        pages.add(f"unsubscribe page, {what}, done", bob.post(f"/unsubscribe/{link}"))
    pages.add("confirm page, a bad link", bob.get("/confirm/nonsense"), 400)

    # The embed page: a board inside another site's page.
    pages.add("embed page", bob.get(f"/embed?key=/post/1&origin={SITE}&title=A+walk"))
    pages.add("embed page, a site not listed",
              bob.get("/embed?key=/post/1&origin=https://evil.example&title=A"), 403)

    # Moderation: login, the queue, a row, a delete's question, boards, block lists.
    moderator = app.test_client()
    login = pages.add("login page", moderator.get("/moderate/login"))
    pages.add("login page, refused", moderator.post(
        "/moderate/login", data={"password": "wrong", "csrf_token": token_in(login)}), 422)
    moderator.post("/moderate/login", data={"password": PASSWORD, "csrf_token": token_in(login)})
    queue = pages.add("moderation queue", moderator.get("/moderate/"))
    mod_token = token_in(queue)
    pages.add("moderation, every comment", moderator.get("/moderate/?show=all"))
    pages.add("moderation, a search", moderator.get("/moderate/?show=all&q=reply"))
    pages.add("moderation, older", moderator.get(f"/moderate/?show=all&before={replies[3]}"))
    pages.add("queue count (htmx)", moderator.get("/moderate/queue-count", headers=HTMX))
    pages.add("moderation row (htmx)",
              moderator.get(f"/moderate/{replies[2]}?show=all", headers=HTMX),
              around=MODERATION_PAGE)
    pages.add("moderation, hide answer (htmx)", moderator.post(
        f"/moderate/{replies[2]}/hide", headers=HTMX,
        data={"csrf_token": mod_token, "show": "all"}), around=MODERATION_PAGE)
    pages.add("moderation, delete question", moderator.post(
        f"/moderate/{replies[3]}/delete", data={"csrf_token": mod_token, "show": "all"}))
    pages.add("moderation, delete question (htmx)", moderator.post(
        f"/moderate/{replies[3]}/delete", headers=HTMX,
        data={"csrf_token": mod_token, "show": "all"}))
    pages.add("moderation, bulk delete question", moderator.post("/moderate/bulk", data={
        "csrf_token": mod_token, "verb": "delete", "show": "all",
        "ids": [str(replies[3]), str(replies[4])]}))
    moderator.post("/moderate/bulk", data={"csrf_token": mod_token, "verb": "hide", "show": "all",
                                           "ids": [str(replies[4])]})
    pages.add("moderation, after a bulk change", moderator.get("/moderate/?show=all"))
    pages.add("moderation boards page", moderator.get("/moderate/boards"))
    pages.add("moderation boards page, refused", moderator.post(
        "/moderate/boards", data={"csrf_token": mod_token, "slug": "Not A Slug!"}), 422)
    moderator.post("/moderate/blocks", data={"csrf_token": mod_token, "kind": "word",
                                             "value": "spamword", "action": "refuse"})
    moderator.post("/moderate/blocks", data={"csrf_token": mod_token, "kind": "name",
                                             "value": "Spammer", "action": "hold"})
    post(bob, "Buy spamword now", htmx=True)  # refused: listed among the recent refusals
    pages.add("block lists page", moderator.get("/moderate/blocks"))
    pages.add("block lists page, refused", moderator.post(
        "/moderate/blocks", data={"csrf_token": mod_token, "kind": "network", "value": "nope"}),
        422)

    # Errors, as pages and as htmx fragments.
    pages.add("error page, 404", bob.get("/no/such/page"), 404)
    pages.add("error fragment, 404 (htmx)", bob.get("/comments/999999", headers=HTMX), 404)
    pages.add("error page, 405", bob.put("/comments/1/edit"), 405)
    pages.add("error page, 403", bob.get(f"/comments/{replies[0]}/edit"), 403)
    pages.add("error page, 400", bob.post("/moderate/login", data={"password": "x"}), 400)
    pages.add("error page, 500", bob.get("/boom"), 500)

    # Too fast: a post over the limit keeps its text, other requests get the error page.
    limited = app_factory(**{**settings, "BOARD_POST_LIMIT": "1 per minute",
                             "BOARD_LOGIN_LIMIT": "1 per minute"})
    used_templates(limited, seen)
    carl = limited.test_client()
    carl_token = token_in(carl.get("/"))
    carl.post("/comments", data={"csrf_token": carl_token, "content": "First"})
    pages.add("board, post over the limit", carl.post(
        "/comments", data={"csrf_token": carl_token, "content": "Second"}), 429)
    pages.add("error fragment, 429 (htmx)", carl.post(
        "/comments", headers=HTMX, data={"csrf_token": carl_token, "content": "Third"}), 429)
    carl.post("/moderate/login", data={"password": "wrong", "csrf_token": carl_token})
    pages.add("error page, 429", carl.post(
        "/moderate/login", data={"password": "wrong", "csrf_token": carl_token}), 429)
    return seen


@pytest.mark.one_database
def test_every_page_and_fragment_is_valid_html(app_factory, tmp_path):
    try:
        vnu.java()
        vnu.vnu_jar()
    except vnu.Unavailable as error:
        unavailable(str(error))
    pages = Pages(tmp_path)
    seen = render_everything(app_factory, pages)

    templates = {path.relative_to(TEMPLATES).as_posix() for path in TEMPLATES.rglob("*")
                 if path.is_file() and not path.relative_to(TEMPLATES).as_posix().startswith(
                     NOT_PAGES)}
    assert templates - seen == set(), "templates no request here renders: add a request for each"

    errors = vnu.check(pages.files.values())
    label_of = {path: label for label, path in pages.files.items()}
    report = [f"{label_of.get(error['file'], error['file'])} ({error['file'].name}:{error['line']}): "
              f"{error['message']}  [{' '.join(error['extract'].split())}]" for error in errors]
    assert report == [], "the Nu HTML Checker found errors:\n" + "\n".join(report)
