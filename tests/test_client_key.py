"""Who counts as one client for every per-client limit: an IPv4 address, an IPv6 /64."""

import pytest
from werkzeug.security import generate_password_hash

from tests.helpers import post, soup
from tests.test_moderation import PASSWORD

pytestmark = pytest.mark.one_database


@pytest.mark.parametrize("address, key", [
    ("192.0.2.1", "192.0.2.1"),
    ("2001:db8::1", "2001:db8::/64"),
    ("2001:db8::ffff:1:2:3", "2001:db8::/64"),
    ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
    ("::ffff:192.0.2.1", "192.0.2.1"),
    ("fe80::1%eth0", "fe80::/64"),
])
def test_the_key_is_the_ipv4_address_or_the_ipv6_64(app, address, key):
    from board.extensions import client_key

    with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
        assert client_key() == key


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_addresses_in_one_ipv6_64_share_the_post_limit(app_factory):
    app = app_factory(BOARD_POST_LIMIT="2 per minute")
    assert post(client_at(app, "2001:db8::1"), "one").status_code in (201, 303)
    assert post(client_at(app, "2001:db8::2"), "two").status_code in (201, 303)
    assert post(client_at(app, "2001:db8::3"), "three").status_code == 429
    assert post(client_at(app, "2001:db8:0:1::1"), "four").status_code in (201, 303)


def test_ipv4_clients_are_counted_apart_and_mapped_addresses_as_ipv4(app_factory):
    app = app_factory(BOARD_POST_LIMIT="1 per minute")
    assert post(client_at(app, "192.0.2.1"), "one").status_code in (201, 303)
    assert post(client_at(app, "192.0.2.2"), "two").status_code in (201, 303)
    assert post(client_at(app, "::ffff:192.0.2.1"), "three").status_code == 429


def login(client, password):
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    return client.post("/moderate/login", data={"password": password, "csrf_token": token})


def test_addresses_in_one_ipv6_64_share_the_login_limit(app_factory):
    app = app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD),
                      BOARD_LOGIN_LIMIT="2 per minute")
    assert login(client_at(app, "2001:db8::1"), "wrong").status_code == 422
    assert login(client_at(app, "2001:db8::2"), "wrong").status_code == 422
    assert login(client_at(app, "2001:db8::3"), PASSWORD).status_code == 429
    assert login(client_at(app, "2001:db8:1::1"), PASSWORD).status_code == 303
