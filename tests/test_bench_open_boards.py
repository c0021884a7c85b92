"""The open-boards generator (bench/open_boards.py) counts what the tabs showed as they showed it:
a tab whose poll brings a comment before the writer has its post's answer in hand (another worker
served the poll meanwhile) showed it, at once; it once counted as a tab that never did."""

import random

from bench import open_boards

POLL_NEWS = (b'<div id="poller" hidden data-hx-get="/b/b1/comments?after=7&amp;since=9&amp;lang=en">'
             b'</div><section class="thread" id="thread-7"><article class="comment" id="comment-7">')
POST_ANSWER = b'<section class="thread" id="thread-7"><article class="comment" id="comment-7">'


def level():
    args = open_boards.parse(["--tabs", "3", "--boards", "2"])
    pages = {slug: ("session=x", "token", f"/b/{slug}/comments?after=6&since=8&lang=en")
             for slug in ("b0", "b1")}
    return open_boards.Level(args, 0, None, pages, ["b0", "b1"], 3, random.Random(1))


def test_a_comment_shown_before_its_posts_answer_counts_as_shown_at_once():
    tabs = level()
    board = tabs.board_of[-1]  # the quieter board's one tab
    tab = tabs.board_of.index(board)
    tabs.arrived(tab, POLL_NEWS, done=10.0)
    assert tabs.posted(201, POST_ANSWER, board, f"b{board}", answered=10.2)
    assert tabs.posts[7]["seen"] == {tab: 0.0}
    summary = tabs.summary()
    assert summary["never_shown"] == 0 and summary["delivered_share"] == 1.0


def test_a_comment_shown_after_its_posts_answer_counts_from_the_answer():
    tabs = level()
    board = tabs.board_of[-1]
    tab = tabs.board_of.index(board)
    assert tabs.posted(201, POST_ANSWER, board, f"b{board}", answered=10.0)
    tabs.arrived(tab, POLL_NEWS, done=12.5)
    assert tabs.posts[7]["seen"] == {tab: 2.5}
    assert not tabs.posted(201, POST_ANSWER.replace(b'class="comment"', b'class="comment held-comment"'),
                           board, f"b{board}", answered=11.0)
