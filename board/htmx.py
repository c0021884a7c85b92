"""Telling an htmx request from a plain one, and answering each with the right template."""

from flask import render_template, request


def is_htmx():
    return request.headers.get("HX-Request") == "true"


def render(page, partial, **context):
    """The partial alone for htmx, the full page (which includes the same partial) otherwise."""
    return render_template(partial if is_htmx() else page, **context)


def vary_on_htmx(response):
    # One URL, two representations: caches must key on the header.
    response.vary.add("HX-Request")
    return response
