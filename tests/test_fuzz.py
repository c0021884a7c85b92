"""Property-based tests: whatever arrives, the answer is never a 5xx, every refusal is a 4xx a
person can read, and nothing is stored when the input is refused."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from board.forms import FORBIDDEN
from tests.helpers import HTMX, count, error_message, soup

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

any_text = st.one_of(
    st.text(),
    st.text(st.characters(codec="utf-8"), min_size=4000, max_size=4200),
    st.text(alphabet=st.sampled_from(["\x00", "\r", "\n", "\t", " ", "a", "😀", "\u202e", "<", "&"])),
    st.sampled_from(["", " ", "\x00", "<script>alert(1)</script>", "{{7*7}}", "a" * 5000]),
)
lone_surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
query_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet=string.printable, max_size=30),
    st.sampled_from(["", "0", "1e9", "0x10", "٣", "１２", "9" * 40, "%00", "null", "[]"]),
)


def assert_readable_refusal(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert error_message(response)


def expected_to_store(content, author):
    content = content.replace("\r\n", "\n").replace("\r", "\n").strip()
    author = author.replace("\r\n", "\n").replace("\r", "\n").strip()
    return (bool(content) and len(content) <= 4096 and len(author) <= 64
            and not FORBIDDEN.search(content) and not FORBIDDEN.search(author))


@FUZZ
@given(content=any_text, author=any_text, htmx=st.booleans())
def test_any_form_input_is_stored_exactly_when_valid(app, client, content, author, htmx):
    token = soup(client.get("/")).find("input", {"name": "csrf_token"})["value"]
    before = count(app)
    response = client.post("/comments", data={"content": content, "author": author,
                                              "csrf_token": token},
                           headers=HTMX if htmx else {})
    assert_readable_refusal(response)
    stored = count(app) - before
    if expected_to_store(content, author):
        assert response.status_code in (201, 303) and stored in (0, 1)  # 0: a repeat within 10 s
    else:
        assert response.status_code in (413, 422) and stored == 0


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_raw_body_is_answered_without_a_5xx(app, client, raw):
    token = soup(client.get("/")).find("input", {"name": "csrf_token"})["value"]
    before = count(app)
    response = client.post("/comments", data=b"csrf_token=" + token.encode() + b"&content=" + raw,
                           content_type="application/x-www-form-urlencoded", headers=HTMX)
    assert_readable_refusal(response)
    if response.status_code >= 400:
        assert count(app) == before


@FUZZ
@given(surrogates=lone_surrogates)
def test_lone_surrogates_percent_encoded_are_refused(app, client, surrogates):
    token = soup(client.get("/")).find("input", {"name": "csrf_token"})["value"]
    encoded = "".join(f"%{b:02X}" for b in surrogates.encode("utf-8", "surrogatepass"))
    response = client.post("/comments", data=f"csrf_token={token}&content={encoded}",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert count(app) == 0


@FUZZ
@given(name=st.sampled_from(["before", "after", "limit"]), value=query_values,
       path=st.sampled_from(["/", "/comments"]), htmx=st.booleans())
def test_any_query_parameter_is_answered_without_a_5xx(client, name, value, path, htmx):
    response = client.get(path, query_string={name: value}, headers=HTMX if htmx else {})
    assert_readable_refusal(response)


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
       path=st.sampled_from(["/", "/comments", "/comments/1", "/comments/x", "/healthz",
                             "/comments/99999999999999999999999"]),
       content_type=st.sampled_from(["application/json", "text/plain", "multipart/form-data",
                                     "application/x-www-form-urlencoded", "application/xml"]),
       body=st.binary(max_size=200))
def test_any_method_and_content_type_is_answered_without_a_5xx(app, client, method, path,
                                                              content_type, body):
    before = count(app)
    response = client.open(path, method=method, data=body, content_type=content_type)
    assert response.status_code < 500
    if method != "HEAD" and response.status_code >= 400:
        assert_readable_refusal(response)
    assert count(app) == before  # no CSRF token: nothing can be stored


def test_body_over_max_content_length_is_413_and_stores_nothing(app, client):
    response = client.post("/comments", data=b"content=" + b"a" * (64 * 1024 + 1),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert_readable_refusal(response)
    assert count(app) == 0
