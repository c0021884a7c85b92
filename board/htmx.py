"""One URL, two answers: the partial alone for htmx, the page (or a redirect) otherwise."""

from flask import redirect, render_template, request


def is_htmx():
    return request.headers.get("HX-Request") == "true"


def render(partial, page, **context):
    """The partial for htmx; otherwise the full page, which includes that same partial, so the
    markup is written once."""
    return render_template(partial if is_htmx() else page, **context)


def render_or_redirect(partial, location, **context):
    """After a change: the changed piece for htmx; otherwise a redirect (303) to where it shows."""
    if is_htmx():
        return render_template(partial, **context)
    return redirect(location, 303)


def vary_on_htmx(response):
    # One URL, two representations: caches must key on the header.
    response.vary.add("HX-Request")
    return response
