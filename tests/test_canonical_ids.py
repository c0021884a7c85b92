"""One comment, one URL: an id is written in ASCII digits without leading zeros. Werkzeug's int
converter also reads /comments/01, /comments/+1 or /comments/١ (an Arabic-Indic one) as comment 1;
those are 404 (board.forms.CommentIdConverter)."""

import pytest

from board.rules import ID_MAX
from tests.helpers import add_comments

# Every route with an id in board/views.py; moderation's is tested in tests/test_moderation.py.
ROUTES = ["/comments/{}", "/comments/{}/edit", "/comments/{}/delete"]
ARABIC_INDIC, DEVANAGARI, FULLWIDTH = 0x0660, 0x0966, 0xFF10


def digits(number, zero):
    return "".join(chr(zero + int(digit)) for digit in str(number))


# Each: the id -> another way to write it that int() (and Werkzeug's int converter) accepts.
ALIASES = {
    "leading zero": lambda n: f"0{n}",
    "leading zeros": lambda n: f"000{n}",
    "plus sign": lambda n: f"+{n}",
    "arabic-indic digits": lambda n: digits(n, ARABIC_INDIC),
    "devanagari digits": lambda n: digits(n, DEVANAGARI),
    "fullwidth digits": lambda n: digits(n, FULLWIDTH),
    "mixed digits": lambda n: digits(n, ARABIC_INDIC)[:-1] + str(n)[-1],
    "underscore": lambda n: f"{str(n)[0]}_{str(n)[1:]}" if n > 9 else f"0_{n}",
}


@pytest.mark.one_database
@pytest.mark.parametrize("alias", ALIASES.values(), ids=ALIASES.keys())
@pytest.mark.parametrize("route", ROUTES)
def test_an_id_written_another_way_is_not_found(app, client, route, alias):
    *_, comment_id = add_comments(app, 12)
    assert int(alias(comment_id)) == comment_id  # what the int converter saw as the same comment
    assert client.get(route.format(comment_id)).status_code in (200, 403)  # 403: not this browser's
    response = client.get(route.format(alias(comment_id)))
    assert response.status_code == 404, response.status_code


@pytest.mark.one_database
@pytest.mark.parametrize("path, status", [
    ("/comments/0", 404), (f"/comments/{ID_MAX}", 404), (f"/comments/{ID_MAX + 1}", 404),
    ("/comments/" + "9" * 40, 404), ("/comments/-1", 404),
])
def test_ids_out_of_range_are_not_found(client, path, status):
    assert client.get(path).status_code == status


@pytest.mark.one_database
def test_urls_are_still_built_with_the_plain_id(app, client):
    [comment_id] = add_comments(app, 1)
    [comment] = client.get("/api/comments").get_json()["comments"]
    assert comment["url"].endswith(f"/comments/{comment_id}")
    assert client.get(f"/comments/{comment_id}").status_code == 200
