"""The page loads cleanly (favicon included), and the problem watcher really catches problems."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_ready

pytestmark = pytest.mark.browser


def test_page_and_all_its_assets_load_without_problems(page, problems):
    responses = []
    page.on("response", lambda r: responses.append(r))
    with page.expect_response(lambda r: "favicon" in r.url) as favicon:
        page.goto("/")
    wait_ready(page)
    assert favicon.value.status == 200
    assert favicon.value.headers["content-type"].startswith("image/svg+xml")
    assert {r.url.split("?")[0].rsplit("/", 1)[-1] for r in responses} >= {
        "", "board.css", "htmx.min.js", "board.js", "favicon.svg"
    }
    assert all(r.status < 400 for r in responses)
    assert problems.found == []


def test_watcher_reports_csp_violations_console_errors_and_bad_responses(page, problems):
    page.goto("/")
    wait_ready(page)
    # Wait for each report itself: the watcher sees the same events before these waits end.
    with page.expect_console_message(lambda m: "CSP violation: script-src" in m.text), \
            page.expect_console_message(lambda m: "CSP violation: style-src" in m.text):
        page.evaluate("""() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.body.append(script);
            const style = document.createElement("style");
            style.textContent = "body { background: red }";
            document.head.append(style);
        }""")
    with page.expect_response(lambda r: r.status == 404 and r.url.endswith("/no-such-page")):
        page.goto("/no-such-page")
    found = "\n".join(problems.found)
    assert "CSP violation: script-src" in found
    assert "CSP violation: style-src" in found
    assert "response 404: GET" in found
    problems.clear()  # all deliberate


def test_inline_code_is_blocked_by_the_content_security_policy(page, problems):
    page.goto("/")
    wait_ready(page)
    problems.allow("CSP violation|violates the following Content Security Policy")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.append(script);
    }""")
    assert page.evaluate("window.inlineRan") is None
    expect(page.locator("#comment-form")).to_be_visible()
