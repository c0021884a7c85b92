"""Made-up comments for demos and benchmarks (`flask board seed`): plausible names and
sentences, posted one after another over a span of time, with their HTML."""

from datetime import timedelta
from functools import lru_cache

from . import markup
from .rules import VISIBLE

NAMES = ("Ada", "Bram", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiroshi", "Inès", "José",
         "Kwame", "Lena", "Mei", "Noor", "Olu", "Priya", "Quinn", "Rafael", "Sven", "Tamar",
         "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë")
OPENERS = ("Just read this and", "Honestly,", "Quick question:", "Agreed, and", "Not sure, but",
           "Thanks for posting!", "Hmm,", "Fun fact:", "Same here:", "Late to the party, but",
           "Update:", "For what it's worth,")
MIDDLES = ("the new layout is much easier to read", "it works fine on my phone too",
           "the meeting moved to Thursday at 10", "has anyone else seen the bug with long names",
           "the coffee machine on the third floor is fixed", "this reminds me of the old forum",
           "I would love a dark mode", "the link in the second post is broken",
           "we should do this again next month", "the photos from Saturday are up",
           "the train was late again this morning", "I finally finished the book you mentioned",
           "the garden looks great after the rain", "who is bringing the cake on Friday")
ENDINGS = (".", ".", ".", "!", "?", " 🙂", " 👍", ". Anyway.", ". Thoughts?", " 😂", "!!", " 🎉")
SENTENCES = [f"{opener} {middle}{ending}" for opener in OPENERS for middle in MIDDLES
             for ending in ENDINGS]


@lru_cache(maxsize=None)
def paragraphs():
    """How markup.render writes plain paragraphs: (before, between, after) around their text,
    found by rendering "x" and "x", "y" as two paragraphs."""
    before, after = markup.render("x").split("x")
    two = markup.render("x\n\ny")
    return before, two[len(before) + 1 + len(after):-len(before) - 1 - len(after)], after


@lru_cache(maxsize=None)
def sentence_html(index):
    """SENTENCES[index] as markup.render writes it, inside its paragraph. The sentences hold no
    Markdown, so a comment's HTML is theirs put together: rendering every comment would take most
    of a seed's time (tests/test_cli.py checks that the two agree)."""
    before, _, after = paragraphs()
    return markup.render(SENTENCES[index]).removeprefix(before).removesuffix(after)


def html_of(picked, one_paragraph):
    """markup.render's HTML of the sentences `picked`, in one paragraph or one each."""
    before, between, after = paragraphs()
    inner = [sentence_html(i) for i in picked]
    if one_paragraph:
        return before + " ".join(inner) + after
    return between.join(before + part + after for part in inner)


def made_up_comments(count, rng, now, span):
    """`count` rows posted one after another over `span` up to `now`; one in 30 edited."""
    pick = rng.random  # one call per decision: this loop is most of the seed's time
    step, previous = span / count, now - span
    for i in range(count):
        posted = max(now - span + step * (i + pick()), previous + timedelta(microseconds=1))
        previous = posted
        sentences = 1 + (pick() < 0.4) + (pick() < 0.15)
        one_paragraph = pick() < 0.8
        picked = [int(pick() * len(SENTENCES)) for _ in range(sentences)]
        content = (" " if one_paragraph else "\n\n").join(SENTENCES[i] for i in picked)
        html = html_of(picked, one_paragraph)
        edited = min(posted + timedelta(seconds=5 + 800 * pick()), now) if pick() < 1 / 30 else None
        yield {"author": NAMES[int(pick() * len(NAMES))] if pick() < 0.75 else None,
               "content": content, "html": html, "posted": posted, "edited": edited,
               "state": VISIBLE}
