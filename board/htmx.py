"""Telling an htmx request from a plain one, and answering each with the right template."""

from flask import request


def is_htmx():
    return request.headers.get("HX-Request") == "true"


def vary_on_htmx(response):
    # One URL, two representations: caches must key on the header.
    response.vary.add("HX-Request")
    return response
