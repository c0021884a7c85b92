"""Every listing cursor has a range: just past it is a 400 that says so, never a 500 from the
database or the clock; at its very edge the listing answers normally."""

import pytest
from werkzeug.security import generate_password_hash

from tests.helpers import HTMX, add_comments, error_message, soup

ID_MAX = 2**31 - 1  # the id column is a 32-bit INTEGER on PostgreSQL and MariaDB
SINCE_MAX = 253402300799999  # milliseconds at the end of the year 9999, the last DATETIME
PASSWORD = "cursor bounds"
# name, path, headers, the cursors it takes, statuses a query in range may get
LISTINGS = [
    ("board page", "/", {}, ("before", "limit"), {200}),
    ("fragments without htmx", "/comments", {}, ("before", "after", "since", "limit"), {303}),
    ("fragments and poll", "/comments", HTMX, ("before", "after", "since", "limit"), {200, 204}),
    ("api", "/api/comments", {}, ("before", "after", "since", "limit"), {200}),
    ("moderator page", "/moderate/", {}, ("before", "limit"), {200}),
]
# The last value in range, and the first one past it.
BOUNDS = {"before": (ID_MAX, ID_MAX + 1), "after": (ID_MAX, ID_MAX + 1),
          "since": (SINCE_MAX, SINCE_MAX + 1), "limit": (100, 101)}
CASES = [(name, path, headers, cursor, statuses)
         for name, path, headers, cursors, statuses in LISTINGS for cursor in cursors]


def query(cursor, value):
    # since is the poll's change cursor: it goes with after (a poll), as the page sends it.
    return {"after": 0, "since": value} if cursor == "since" else {cursor: value}


@pytest.fixture
def listed(app_factory):
    app = app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(
        PASSWORD, method="pbkdf2:sha256:1000"))
    add_comments(app, 3)
    client = app.test_client()
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    assert client.post("/moderate/login",
                       data={"password": PASSWORD, "csrf_token": token}).status_code == 303
    return client


@pytest.mark.parametrize("name, path, headers, cursor, statuses", CASES,
                         ids=[f"{case[0]}-{case[3]}" for case in CASES])
def test_a_cursor_past_its_range_is_a_400_and_at_its_edge_is_answered(listed, name, path,
                                                                     headers, cursor, statuses):
    last, beyond = BOUNDS[cursor]

    at_edge = listed.get(path, query_string=query(cursor, last), headers=headers)
    assert at_edge.status_code in statuses, at_edge.get_data(as_text=True)[:300]

    past = listed.get(path, query_string=query(cursor, beyond), headers=headers)
    assert past.status_code == 400, past.get_data(as_text=True)[:300]
    assert f"{cursor} must be a whole number" in error_message(past)


def test_the_reported_poll_is_a_400_not_a_500(listed):
    response = listed.get("/comments?after=0&since=999999999999999", headers=HTMX)
    assert response.status_code == 400
    assert "since" in error_message(response)
