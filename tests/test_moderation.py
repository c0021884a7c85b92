"""The moderator's page: off unless configured, behind a password, CSRF and a rate limit."""

import pytest
from werkzeug.security import generate_password_hash

from board import models, rules
from board.extensions import db
from tests.helpers import HTMX, add_comments, soup

PASSWORD = "correct horse battery staple"


@pytest.fixture
def moderated(app_factory):
    return app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD),
                       BOARD_LOGIN_LIMIT="3 per minute")


def login(client, password=PASSWORD):
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    return client.post("/moderate/login", data={"password": password, "csrf_token": token})


def token_of(client):
    return soup(client.get("/moderate/")).find("input", {"name": "csrf_token"})["value"]


def act(client, comment_id, verb, htmx=False, confirmed=True, **fields):
    """Press a row's button; a delete's question is answered yes unless `confirmed` is False."""
    data = {"csrf_token": token_of(client), **fields}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(f"/moderate/{comment_id}/{verb}", data=data, headers=HTMX if htmx else {})


def bulk(client, verb, ids, confirmed=False, **fields):
    data = {"csrf_token": token_of(client), "verb": verb, "ids": [str(i) for i in ids], **fields}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post("/moderate/bulk", data=data)


def state(app, comment_id):
    with app.app_context():
        return db.session.get(models.Comment, comment_id).state


@pytest.mark.one_database
def test_moderation_does_not_exist_without_a_password_hash(client):
    assert client.get("/moderate/").status_code == 404
    assert client.get("/moderate/login").status_code == 404


@pytest.mark.one_database
def test_the_page_asks_for_a_login_first(moderated):
    client = moderated.test_client()
    response = client.get("/moderate/")
    assert response.status_code == 303 and response.headers["Location"] == "/moderate/login"
    form = soup(client.get("/moderate/login")).find("main").find("form")
    assert form.find("input", {"type": "password"})["id"] == "password"
    assert form.find("label", attrs={"for": "password"})


@pytest.mark.one_database
def test_a_wrong_password_is_refused_and_the_login_is_rate_limited(moderated):
    client = moderated.test_client()
    for _ in range(3):
        response = login(client, "wrong")
        assert response.status_code == 422
        assert "not the moderator password" in soup(response).get_text()
    assert login(client, PASSWORD).status_code == 429
    assert client.get("/moderate/").status_code == 303


@pytest.mark.one_database
def test_login_without_csrf_token_is_refused(moderated):
    client = moderated.test_client()
    client.get("/moderate/login")
    assert client.post("/moderate/login", data={"password": PASSWORD}).status_code == 400
    assert client.get("/moderate/").status_code == 303


def test_moderator_hides_unhides_and_deletes_without_javascript(moderated):
    ids = add_comments(moderated, 3)
    client = moderated.test_client()
    assert login(client).status_code == 303
    page = soup(client.get("/moderate/"))
    assert [a["id"] for a in page.select("article.moderation")] == [f"moderate-{i}" for i in ids[::-1]]

    response = act(client, ids[0], "hide")
    assert response.status_code == 303
    assert state(moderated, ids[0]) == rules.HIDDEN
    board = soup(client.get("/"))
    assert board.select(f"#comment-{ids[0]}") == []
    assert client.get(f"/comments/{ids[0]}").status_code == 404

    assert act(client, ids[0], "unhide").status_code == 303
    assert state(moderated, ids[0]) == rules.VISIBLE
    assert soup(client.get("/")).select(f"#comment-{ids[0]}")

    assert act(client, ids[1], "delete").status_code == 303
    assert state(moderated, ids[1]) == rules.DELETED
    assert act(client, ids[1], "unhide").status_code == 409


def test_moderator_buttons_work_with_htmx(moderated):
    [comment_id] = add_comments(moderated, 1)
    client = moderated.test_client()
    login(client)
    response = act(client, comment_id, "hide", htmx=True)
    assert response.status_code == 200
    row = soup(response).find("article")
    assert row["id"] == f"moderate-{comment_id}" and "hidden" in row["class"]
    assert [b.get_text(" ", strip=True).split()[0] for b in row.find_all("button")] == ["Unhide", "Delete"]
    form = row.find("form")
    assert form["data-hx-target"] == f"#moderate-{comment_id}" and form["method"] == "post"


def test_hidden_and_deleted_comments_vanish_from_board_polls_and_pages(moderated):
    ids = add_comments(moderated, 60)
    client = moderated.test_client()
    poll = soup(client.get("/")).select_one("#poller")["data-hx-get"]
    login(client)
    act(client, ids[-1], "hide")
    act(client, ids[5], "delete")
    shown = [a["id"] for a in soup(client.get("/")).select("article.comment")]
    older = [a["id"] for a in soup(client.get(f"/?before={ids[20]}")).select("article.comment")]
    for gone in (ids[-1], ids[5]):
        assert f"comment-{gone}" not in shown + older
    answer = soup(client.get(poll, headers=HTMX))
    assert "removed" in answer.select_one(f"#comment-{ids[-1]}")["class"]


@pytest.mark.one_database
def test_logout_ends_moderation(moderated):
    client = moderated.test_client()
    login(client)
    token = soup(client.get("/moderate/")).find("input", {"name": "csrf_token"})["value"]
    assert client.post("/moderate/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/moderate/").status_code == 303


def test_a_moderators_delete_asks_first_without_javascript(moderated):
    [comment_id] = add_comments(moderated, 1)
    client = moderated.test_client()
    login(client)
    question = act(client, comment_id, "delete", confirmed=False)
    assert question.status_code == 200
    form = soup(question).select_one("form.confirm")
    assert "cannot be undone" in form.get_text() and "Comment 0" in form.get_text()
    assert form.find("input", {"name": "confirmed"})["value"] == "yes"
    assert state(moderated, comment_id) == rules.VISIBLE
    assert act(client, comment_id, "delete").status_code == 303
    assert state(moderated, comment_id) == rules.DELETED


def test_a_moderators_delete_asks_in_place_with_htmx_and_cancel_puts_the_row_back(moderated):
    [comment_id] = add_comments(moderated, 1)
    client = moderated.test_client()
    login(client)
    question = soup(act(client, comment_id, "delete", htmx=True, confirmed=False))
    form = question.find("form")
    assert form["id"] == f"moderate-{comment_id}" and form["data-hx-target"] == "this"
    cancel = question.find("a", string="Cancel")
    row = soup(client.get(cancel["data-hx-get"], headers=HTMX)).find("article")
    assert row["id"] == f"moderate-{comment_id}"
    assert state(moderated, comment_id) == rules.VISIBLE


@pytest.mark.one_database
def test_the_filters_show_one_state_each(moderated):
    ids = add_comments(moderated, 4)
    client = moderated.test_client()
    login(client)
    act(client, ids[0], "hide")
    act(client, ids[1], "delete")

    def shown(query):
        page = soup(client.get(f"/moderate/?{query}"))
        return [int(a["id"].split("-")[1]) for a in page.select("article.moderation")]

    assert shown("") == ids[::-1]
    assert shown("show=visible") == [ids[3], ids[2]]
    assert shown("show=hidden") == [ids[0]]
    assert shown("show=deleted") == [ids[1]]
    page = soup(client.get("/moderate/?show=hidden"))
    assert page.select_one(".filters [aria-current=page]").get_text() == "Hidden"
    assert "hidden" in page.select_one("article.moderation")["class"]
    assert page.select_one(".state").get_text() == "hidden"
    assert client.get("/moderate/?show=spam").status_code == 400


def test_search_finds_text_and_names_in_any_case(moderated):
    with moderated.app_context():
        first = models.add("Ann", "Cheap tickets here").id
        second = models.add("TicketBot", "Hello").id
        models.add("Bob", "Nothing to see")
        models.add(None, "100% sure_thing")
    client = moderated.test_client()
    login(client)

    def found(q):
        page = soup(client.get("/moderate/", query_string={"q": q}))
        return [int(a["id"].split("-")[1]) for a in page.select("article.moderation")]

    assert found("TICKET") == [second, first]
    assert found("%") == [first + 3] and found("_t") == [first + 3]  # LIKE's wildcards are text
    assert found("nobody") == []
    assert client.get("/moderate/", query_string={"q": "x" * 101}).status_code == 400
    for control in ("\x00", "a\x07b", "\ufffe"):
        assert client.get("/moderate/", query_string={"q": control}).status_code == 400


def test_bulk_hide_says_what_it_did_and_keeps_the_view(moderated):
    ids = add_comments(moderated, 3)
    client = moderated.test_client()
    login(client)
    act(client, ids[0], "hide")
    response = bulk(client, "hide", ids[:2], show="visible")
    assert response.status_code == 303
    assert response.headers["Location"] == "/moderate/?show=visible"
    assert [state(moderated, i) for i in ids] == [rules.HIDDEN, rules.HIDDEN, rules.VISIBLE]
    message = soup(client.get(response.headers["Location"])).select_one(".flash").get_text()
    assert message.startswith("Hid 1 comment.") and f"comment {ids[0]} is already hidden" in message


def test_bulk_delete_asks_first_then_deletes(moderated):
    ids = add_comments(moderated, 3)
    client = moderated.test_client()
    login(client)
    question = bulk(client, "delete", ids[1:])
    assert question.status_code == 200
    form = soup(question).select_one("form.confirm")
    assert "Delete 2 comments?" in form.get_text()
    assert sorted(int(i["value"]) for i in form.find_all("input", {"name": "ids"})) == ids[1:]
    assert [state(moderated, i) for i in ids] == [rules.VISIBLE] * 3
    assert bulk(client, "delete", ids[1:], confirmed=True).status_code == 303
    assert [state(moderated, i) for i in ids] == [rules.VISIBLE, rules.DELETED, rules.DELETED]


@pytest.mark.one_database
@pytest.mark.parametrize("fields, status", [
    ({"verb": "purge", "ids": ["1"]}, 400),
    ({"verb": "hide", "ids": ["01"]}, 400),
    ({"verb": "hide", "ids": [str(2**31)]}, 400),
    ({"verb": "hide", "ids": [str(n) for n in range(1, 102)]}, 400),
    ({"verb": "hide"}, 303),
])
def test_bad_bulk_requests_change_nothing(moderated, fields, status):
    ids = add_comments(moderated, 2)
    client = moderated.test_client()
    login(client)
    response = client.post("/moderate/bulk", data={"csrf_token": token_of(client), **fields})
    assert response.status_code == status
    assert [state(moderated, i) for i in ids] == [rules.VISIBLE] * 2
    without_token = client.post("/moderate/bulk", data={"verb": "hide", "ids": [str(ids[0])]})
    assert without_token.status_code == 400 and state(moderated, ids[0]) == rules.VISIBLE
