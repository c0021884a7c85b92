"""Small helpers the tests share: parse a response, post like a browser, count and add rows,
and the one way to skip a test."""

import os
from datetime import datetime, timedelta, timezone

import pytest
from bs4 import BeautifulSoup
from flask import current_app
from sqlalchemy import select, text

from board import models
from board.extensions import db

HTMX = {"HX-Request": "true"}


def unavailable(reason):
    """The only way a test skips: on a developer's machine that lacks a server, a browser or a
    setting, it skips; in CI (CI set) a skip would hide a gap, so it fails instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run every test)", pytrace=False)
    pytest.skip(reason)


def soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def csrf_token(client):
    """The token a browser would find in the page's form."""
    page = soup(client.get("/"))
    return page.find("input", {"name": "csrf_token"})["value"]


def post(client, content="Hello", author="", htmx=False, token=True, **fields):
    data = {"content": content, "author": author, **fields}
    if token:
        data["csrf_token"] = csrf_token(client)
    return client.post("/comments", data=data, headers=HTMX if htmx else {})


def count(app):
    with app.app_context():
        return db.session.scalar(text("SELECT COUNT(*) FROM comments"))


def board_id(slug=None):
    """The id of board `slug` (the default board when None), made when missing. In an app
    context. Rows inserted with it leave the board's count as it was: tests of counts post."""
    slug = slug or current_app.config["BOARD_DEFAULT_SLUG"]
    found = db.session.scalar(select(models.BOARDS.c.id).where(models.BOARDS.c.slug == slug))
    if found is None:  # titled as the app titles it: the default board "Comments"
        models.insert_board(slug, models.DEFAULT_TITLE if slug == current_app.config[
            "BOARD_DEFAULT_SLUG"] else slug)
        db.session.commit()
        return board_id(slug)
    return found


def add_comments(app, n, start=None, step=timedelta(seconds=1), author="Seeder", board=None):
    """Insert n comments directly, oldest first, one `step` apart. Returns their ids."""
    start = start or datetime(2020, 1, 1, tzinfo=timezone.utc)
    with app.app_context():
        on = board_id(board)
        comments = [
            models.Comment(author=author, content=f"Comment {i}", posted=start + step * i,
                           board_id=on)
            for i in range(n)
        ]
        db.session.add_all(comments)
        db.session.flush()
        if comments:  # the board's newest id, as posts would have left it (polls look there)
            models.newest_on_board(on, comment_id=comments[-1].id)
        db.session.commit()
        return [comment.id for comment in comments]


def textarea_value(textarea):
    """What a browser shows: HTML drops one line break right after <textarea>."""
    text = textarea.get_text()
    return text[2:] if text.startswith("\r\n") else text.removeprefix("\n")


def error_message(response):
    """The message a person reads on a refusal: an error page's, or the form's next to a field
    (or, from /api/, the JSON error's)."""
    if response.mimetype == "application/json":
        return response.get_json()["error"]["message"]
    html = soup(response)
    return " ".join(tag.get_text(" ", strip=True)
                    for tag in html.select(".error-message, .form-error, .field-error"))
