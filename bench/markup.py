"""How long a comment takes to render as Markdown (board/markup.py), at its worst.

    .venv/bin/python -m bench.markup [--runs 7]

Times `render()` on comments of the longest allowed length (4,096 characters) built to be slow
or deep, and on an ordinary long comment: the best of --runs runs each, with time.perf_counter.
Each is timed again at half the length: a ratio near 2 means rendering is linear in the length
of the comment, so no comment can cost more than the slowest row here. Standalone: no app, no
database. The tests (tests/test_markdown.py) check that the same inputs render safely; speed is
measured only here, because machines are noisy.
"""

import argparse
import time

from board.markup import render
from board.rules import CONTENT_MAX

ORDINARY = """Thanks for the write-up! I tried it on *our* staging box and it **mostly** works.

A few notes:

- the `--workers` flag needs to be at least 2, otherwise the poller starves
- see https://example.com/docs/deploy#workers and [the FAQ](https://example.com/faq)
- mail ops@example.com if the build breaks

> Rendering is linear, so a long comment costs at most a few milliseconds.

```python
for comment in board.newest(50):
    print(comment.id, comment.content)
```

1. pull
2. migrate
3. restart

"""

# name: a piece repeated to the length wanted.
PATHOLOGICAL = {
    "emphasis bomb *a": "*a",
    "emphasis bomb **a": "**a",
    "mixed delimiters *_": "*_",
    "underscores _": "_",
    "underscore words _a": "_a",
    "stars *": "*",
    "open brackets [": "[",
    "close brackets ]": "]",
    "empty links [](": "[](",
    "unclosed links [a](": "[a](",
    "images ![": "![",
    "nested links [a[a...](u)": None,  # built below
    "quotes > ": "> ",
    "quote marks >": ">",
    "nested list markers - ": "- ",
    "nested ordered lists 1. ": "1. ",
    "indented lists": "".join("  " * i + "- x\n" for i in range(40)),
    "quotes and lists > - ": "> - ",
    "backticks `": "`",
    "backtick runs `a``": "`a``",
    "fences ```": "```\n",
    "less-than <": "<",
    "autolink starts <http://": "<http://",
    "ampersands &": "&",
    "entity starts &#": "&#",
    "backslashes \\": "\\",
    "line breaks a\\n": "a\n",
    "schemes https://[": "https://[",
    "schemes a://": "a://",
    "bare URLs": "http://a.example ",
    "bare emails": "a@b.example ",
    "www.": "www.",
    "www and symbols www.|": "www.|",
    "domains and symbols a.b$": "a.b$",
    "www in words of 128": ("www.=" * 26)[:128] + " ",
    "one long URL": None,  # built below
    "reference definitions": "[a]: http://x.example\n",
    "ordinary comment": ORDINARY,
}


def source(name, piece, size):
    if name.startswith("nested links"):
        half = size // 2
        return ("[a" * half)[:half] + ("](http://x.example)" * size)[:size - half]
    if name == "one long URL":
        return "http://" + "a" * (size - 7)
    return (piece * (size // len(piece) + 1))[:size]


def best_ms(text, runs):
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        render(text)
        best = min(best, time.perf_counter() - began)
    return best * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.markup",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per input; the best counts (7)")
    args = parser.parse_args(argv)
    render(ORDINARY)  # imports and regex compilation out of the way
    rows = []
    for name, piece in PATHOLOGICAL.items():
        half = best_ms(source(name, piece, CONTENT_MAX // 2), args.runs)
        full = best_ms(source(name, piece, CONTENT_MAX), args.runs)
        rows.append((name, half, full))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'input':<{width}}  {CONTENT_MAX // 2:>8,} ch  {CONTENT_MAX:>8,} ch  ratio")
    for name, half, full in rows:
        print(f"{name:<{width}}  {half:>8.2f} ms  {full:>8.2f} ms  {full / half:5.2f}")
    name, half, full = max(rows, key=lambda row: row[2])
    print(f"\nslowest: {name}, {full:.1f} ms for {CONTENT_MAX:,} characters; "
          f"twice the length took {full / half:.2f} times as long (2 is linear)")


if __name__ == "__main__":
    main()
