// The few behaviours HTML and htmx cannot express. Everything works without this file; it adds
// relative and local times, emptying and focusing the box after a post, Ctrl+Enter, holding new
// comments while you read, the count in a hidden tab's title, a slower poll in hidden tabs,
// de-duplication, announcements for screen readers, Edit and Delete that count down, focus that
// follows what you do, "Show more" on long comments, messages when a request fails, and the
// theme toggle without a reload.
(function () {
  "use strict";

  const lang = document.documentElement.lang || undefined;
  const absolute = new Intl.DateTimeFormat(lang, {
    weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "numeric", minute: "2-digit",
  });
  const relativeFormat = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const pluralRules = new Intl.PluralRules(lang);

  // What this script says, in the page's language: the server puts its catalog's words in a meta
  // tag (board/languages.py); counts come in each plural form the language has.
  const TEXT = JSON.parse((document.querySelector('meta[name="board-messages"]') || {}).content || "{}");
  function say(key, values) {
    let text = (TEXT.messages || {})[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.replace("%(" + name + ")s", values[name]); });
    return text;
  }
  function plural(number, key) {
    const forms = (TEXT.counts || {})[key] || {};
    return (forms[pluralRules.select(number)] || forms.other || "%(num)d").replace("%(num)d", String(number));
  }
  const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60]];

  // The server's clock, as the page said it when it was made: "3 minutes ago" and the time left
  // to edit are counted on it, so a reader's clock that is off shows neither early nor late.
  const serverTime = Date.parse((document.querySelector('meta[name="server-time"]') || {}).content);
  const skew = isNaN(serverTime) ? 0 : serverTime - Date.now();
  function serverNow() { return Date.now() + skew; }

  function relative(date) {
    const seconds = Math.round((date.getTime() - serverNow()) / 1000);
    if (seconds > -60) return say("justNow"); // also when the reader's clock is behind the server's
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
    }
    return say("justNow");
  }

  // The server wrote times in UTC (or BOARD_TIMEZONE), naming the zone. A comment's time reads at
  // a glance: how long ago ("6 hours ago"), with the full date in the reader's zone on hover;
  // "edited" keeps its word; other times (the moderator's list) show the full local date. The
  // datetime attributes stay as the server wrote them.
  function localiseTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (time) {
      if (time.dateTime.indexOf("T") < 0) return; // a date alone has no time of day to convert
      const date = new Date(time.dateTime);
      if (isNaN(date)) return;
      if (time.classList.contains("posted")) {
        time.textContent = relative(date);
        time.title = absolute.format(date);
      } else if (time.parentElement.classList.contains("edited")) {
        time.title = say("edited", { date: absolute.format(date) });
      } else {
        time.textContent = absolute.format(date);
        time.title = date.toUTCString();
      }
    });
  }

  function refreshTimes() {
    document.querySelectorAll("time.posted[datetime]").forEach(function (time) {
      const date = new Date(time.dateTime);
      if (!isNaN(date)) time.textContent = relative(date);
    });
    countDown();
  }

  // Edit and Delete work for a while after posting: they say how long ("Edit · 12 min") and go
  // when the time is up, when the server would refuse them. Wakes when the next number changes.
  let countdown = 0;
  function countDown() {
    clearTimeout(countdown);
    let next = Infinity;
    document.querySelectorAll(".own-actions[data-until]").forEach(function (actions) {
      const left = Date.parse(actions.dataset.until) - serverNow();
      if (!(left > 0)) {
        withdraw(actions);
        return;
      }
      const minutes = Math.ceil(left / 60000);
      const label = actions.querySelector(".time-left");
      if (label) label.textContent = " · " + plural(minutes, "minutesLeft");
      next = Math.min(next, left - (minutes - 1) * 60000);
    });
    if (next < Infinity) countdown = setTimeout(countDown, next);
  }

  // Edit and Delete leave; focus on them goes to `instead` (else the comment's Reply), not to
  // the top of the page.
  function withdraw(actions, instead) {
    const had = actions.contains(document.activeElement);
    const comment = actions.closest(".comment");
    actions.remove();
    if (!had) return;
    const next = instead || (comment && comment.querySelector("a.reply")) || comment;
    if (next) focusOn(next);
  }

  function focusOn(element) {
    if (!element.matches("a[href], button, textarea, input")) element.tabIndex = -1;
    element.focus();
  }

  // A long comment shows its first lines and "Show more", a real button (keyboard, screen
  // readers: aria-expanded). Without this file the whole text shows.
  const LONG = 600;
  function foldLong(root) {
    root.querySelectorAll("article.comment:not(.moderation) > .content").forEach(function (content) {
      const next = content.nextElementSibling;
      if (content.textContent.trim().length <= LONG || (next && next.matches("button.show-more"))) return;
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "show-more";
      content.id = content.parentElement.id + "-text";
      toggle.setAttribute("aria-controls", content.id);
      content.after(toggle);
      fold(content, true);
    });
  }

  function fold(content, folded) {
    const toggle = content.nextElementSibling;
    content.classList.toggle("folded", folded);
    toggle.setAttribute("aria-expanded", String(!folded));
    toggle.textContent = folded ? say("showMore") : say("showLess");
  }

  // "or Ctrl+Enter" shows only where it works: in the forms this file sends with it (the
  // stylesheet hides it on touch screens, which have no such key).
  const KEYS_FORMS = "#comment-form, form.reply-form, form.edit-form";
  const MAC = /Mac|iPhone|iPad/.test(navigator.platform);
  function revealKeys(root) {
    root.querySelectorAll(".keys[hidden]").forEach(function (keys) {
      if (!keys.closest(KEYS_FORMS)) return;
      if (MAC) keys.textContent = say("orKeys", { keys: "\u2318+Enter" });
      keys.hidden = false;
    });
  }

  // Everything a piece of the page needs once it is in: times, folds, hints, countdowns.
  function dress(root) {
    localiseTimes(root);
    foldLong(root);
    revealKeys(root);
    countDown();
  }

  // What an answer brings to the board (a poll, a post, a reply, an older page, more replies),
  // sorted before it is swapped in. A comment can arrive twice: by the answer to its own POST and
  // by the next poll; the copy already shown stays where it is and the answer's copy is dropped,
  // so a comment is never shown twice, not even for a frame. New threads stay in the answer (it
  // lands on top of the list); a new reply goes to the end of its thread, or is dropped when this
  // page does not show that thread. A poll also brings fresh copies (data-change) of comments
  // since edited, hidden or deleted: each takes its old copy's place (an out-of-band swap), or
  // goes where it belongs when this page never showed it (hidden when it loaded, since unhidden).
  // `target`: where the answer itself goes. `fresh`: new comments (a poll's, a post's) flash as
  // they arrive; older pages and folded replies do not. `hold`: new threads come in hidden, behind
  // the "N new comments" button, so that nothing the reader sees moves (hidden, they take no
  // room). Returns how many threads and replies are new.
  // A poll's fresh copy of a comment replaces the shown one; when focus was inside it (on its
  // Edit, after a save), it goes to the same control in the copy, not back to the page's top.
  const FOCUSABLE = "a[href], button, input, textarea, [tabindex]";
  let refocus = null;

  function keepFocus(shown) {
    const active = document.activeElement;
    if (active === shown) refocus = { id: shown.id, index: -1 };
    else if (shown.contains(active)) {
      refocus = { id: shown.id, index: Array.from(shown.querySelectorAll(FOCUSABLE)).indexOf(active) };
    }
  }

  document.addEventListener("htmx:afterSwap", refocusCopy);

  function refocusCopy() {
    if (refocus === null) return;
    const copy = document.getElementById(refocus.id);
    const target = copy && (refocus.index < 0 ? copy : copy.querySelectorAll(FOCUSABLE)[refocus.index]);
    refocus = null;
    if (!target || target.contains(document.activeElement)) return;
    if (target === copy) copy.tabIndex = -1;
    target.focus();
  }

  // A fresh copy of a comment whose Edit, Delete or Reply is out waits for that answer: the
  // answer goes into the comment's place (or after it), so replacing the comment now would leave
  // the answer nowhere to go and the reader's press would do nothing. When the answer is in, the
  // copy takes the comment's place if the comment is still the one shown; if the answer replaced
  // it (an edit form, the question before a delete), the copy is dropped: Save or Cancel there
  // brings the server's own, newer copy. { comment id: { shown, copy } }
  const waiting = new Map();

  // A poll's answer is the same for every reader (a shared cache may give it to all of a board's
  // tabs): where this reader's own parts go ("you", the author's Edit and Delete) it has markers,
  // <!--you:ID--> and <!--own:ID-->. A fresh copy takes the shown comment's own parts there.
  const OWN_PARTS = { you: ":scope > .comment-meta > .you", own: ":scope > .comment-actions > .own-actions" };

  function keepOwnParts(shown, copy) {
    const walker = document.createTreeWalker(copy, NodeFilter.SHOW_COMMENT);
    const markers = [];
    while (walker.nextNode()) markers.push(walker.currentNode);
    markers.forEach(function (marker) {
      const part = /^(you|own):(\d+)$/.exec(marker.data);
      const mine = part && "comment-" + part[2] === shown.id && shown.querySelector(OWN_PARTS[part[1]]);
      if (mine) marker.replaceWith(mine.cloneNode(true));
    });
  }

  function busy(shown) { return shown.matches(".htmx-request") || shown.querySelector(".htmx-request") !== null; }

  function wait(shown, copy) {
    copy.removeAttribute("data-change");
    waiting.set(shown.id, { shown: shown, copy: copy });
  }

  // htmx fires this once the answer is swapped in, on a parent still in the page when the
  // element that asked went with the swap.
  document.addEventListener("htmx:afterRequest", function () {
    waiting.forEach(function (kept, id) {
      const shown = document.getElementById(id);
      if (shown === kept.shown && busy(shown)) return;
      waiting.delete(id);
      if (shown !== kept.shown) return;
      keepFocus(shown);
      recount(shown, kept.copy);
      keepOwnParts(shown, kept.copy);
      shown.replaceWith(kept.copy);
      finish(kept.copy);
      refocusCopy();
    });
  });

  function sortArrivals(detail, target, fresh, hold) {
    const template = document.createElement("template");
    template.innerHTML = detail.serverResponse;
    const content = template.content;
    const news = { threads: 0, replies: 0 };
    let rewritten = false;
    topLevel(content, "section.thread[id]").forEach(function (copy) {
      const first = copy.querySelector(":scope > article.comment[data-change]");
      if (first) {
        const shown = document.getElementById(first.id);
        if (shown && shown.matches("article.comment")) {
          if (busy(shown)) {
            wait(shown, first);
            copy.remove();
          } else {
            first.setAttribute("data-hx-swap-oob", "true");
            keepFocus(shown);
            keepOwnParts(shown, first);
            copy.replaceWith(first);
          }
        } else if (!shown && !document.getElementById(copy.id)) {
          first.removeAttribute("data-change");
          placeThread(copy);
        } else {
          copy.remove();
        }
        rewritten = true;
      } else if (document.getElementById(copy.id)) {
        copy.remove();
        rewritten = true;
      } else {
        news.threads += 1;
        if (fresh) copy.querySelector("article.comment").classList.add("new");
        if (hold) {
          copy.hidden = true;
          copy.classList.add("held");
        }
        rewritten = rewritten || fresh;
      }
    });
    topLevel(content, "article.comment[id]").forEach(function (copy) {
      const shown = document.getElementById(copy.id);
      const thread = copy.dataset.thread && document.getElementById("thread-" + copy.dataset.thread);
      if (copy.hasAttribute("data-change")) {
        if (shown && shown.matches("article.comment") && busy(shown)) {
          wait(shown, copy);
          copy.remove();
        } else if (shown && shown.matches("article.comment")) {
          copy.setAttribute("data-hx-swap-oob", "true");
          keepFocus(shown);
          recount(shown, copy);
          keepOwnParts(shown, copy);
        } else if (!shown && thread && !copy.classList.contains("removed")) {
          countReply(thread, 1); // unhidden
          // Among the replies "Show N more replies" would load: it comes with them, in order.
          if (folded(copy, thread)) copy.remove();
          else placeReply(copy, thread);
        } else {
          copy.remove();
        }
        rewritten = true;
      } else if (shown) {
        copy.remove();
        rewritten = true;
      } else if (thread && thread === target) {
        news.replies += 1; // lands at the end of its thread with the answer
        countReply(thread, 1);
        copy.classList.add("new");
        rewritten = true;
      } else if (thread && !target.matches("a.more-replies")) {
        placeReply(copy, thread);
        copy.classList.add("new");
        news.replies += 1;
        countReply(thread, 1);
        rewritten = true;
      } else if (!target.matches("a.more-replies")) {
        copy.remove();
        rewritten = true;
      }
    });
    if (rewritten) detail.serverResponse = template.innerHTML;
    return news;
  }

  // The answer's top-level elements that match `selector`. Not querySelectorAll(":scope > ..."):
  // in a template's DocumentFragment :scope matches nothing (Chromium), so that finds nothing.
  function topLevel(content, selector) {
    return Array.from(content.children).filter(function (element) { return element.matches(selector); });
  }

  // Threads newest first, by the time posted (the datetime attributes are all UTC, all one
  // format) and then by id, as the server orders pages; replies in a thread oldest first.
  function orderKey(element, attribute) {
    const time = attribute ? element.getAttribute(attribute) : element.querySelector("time.posted");
    const when = attribute ? time : (time ? time.getAttribute("datetime") : "");
    return [when || "", Number(element.id.replace(/^\D+/, ""))];
  }

  function isBefore(a, b) { return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]); }

  function finish(element) {
    htmx.process(element);
    dress(element);
  }

  // A thread this page never showed, where it belongs: older than everything shown, it comes
  // with "Load older comments" when there is such a link; otherwise it goes last.
  function placeThread(copy) {
    const list = document.getElementById("comments");
    copy.remove();
    if (!list) return;
    const key = orderKey(copy, "data-posted");
    const later = Array.from(list.querySelectorAll(":scope > section.thread")).find(function (shown) {
      return isBefore(orderKey(shown, "data-posted"), key);
    });
    if (later) later.before(copy);
    else if (list.querySelector(":scope > a.older")) return;
    else list.append(copy);
    finish(copy);
  }

  function placeReply(copy, thread) {
    copy.remove();
    copy.removeAttribute("data-change");
    const key = orderKey(copy);
    const later = Array.from(thread.querySelectorAll(":scope > article.reply")).find(function (shown) {
      return isBefore(key, orderKey(shown));
    });
    if (later) later.before(copy);
    else thread.append(copy);
    finish(copy);
  }

  // True when a reply this page does not show belongs after "Show N more replies": no shown
  // reply before that link is later than it.
  function folded(copy, thread) {
    const more = thread.querySelector(":scope > a.more-replies");
    if (!more) return false;
    const key = orderKey(copy);
    return !Array.from(thread.querySelectorAll(":scope > article.reply")).some(function (shown) {
      return isBefore(key, orderKey(shown)) &&
        (shown.compareDocumentPosition(more) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
  }

  // The thread's "N replies", `step` more or fewer: the server sends no change of a thread when
  // only its replies come and go, so the page keeps count (a reload shows the server's).
  function countReply(thread, step) {
    const count = thread && thread.querySelector(":scope > article.comment:not(.reply) .reply-count");
    if (!count) return;
    const number = Math.max(0, Number(count.dataset.count || 0) + step);
    count.dataset.count = String(number);
    count.textContent = plural(number, "replies");
    count.hidden = number === 0;
  }

  // A shown reply's fresh copy: hidden or deleted (a removed copy), or back from that, is one
  // reply fewer or more in its thread.
  function recount(shown, copy) {
    if (!shown.matches(".reply")) return;
    const was = !shown.classList.contains("removed");
    const now = !copy.classList.contains("removed");
    if (was !== now) countReply(shown.closest("section.thread"), now ? 1 : -1);
  }

  function announce(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  function showStatus(status, text) {
    if (typeof status === "string") status = document.getElementById(status);
    if (!status) return;
    status.textContent = text || "";
    status.hidden = !text;
  }

  function failureText(xhr) {
    if (!xhr || !xhr.status) return say("unreachable");
    if (xhr.status === 429) {
      const wait = Number(xhr.getResponseHeader("Retry-After"));
      return say("tooFast") + (wait > 0 ? " " + plural(wait, "tryAgainIn") : "");
    }
    if (xhr.status === 503) return say("unavailable");
    return say("failed", { status: xhr.status });
  }

  // The element that made the request. (An event's detail.elt is where the event fired: the
  // target for htmx:beforeSwap, a parent for htmx:afterRequest once the element was swapped out.)
  function requester(detail) {
    return (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
  }

  function is(elt, selector) { return Boolean(elt && elt.matches && elt.matches(selector)); }
  function isForm(elt) { return elt && elt.id === "comment-form"; }
  function isReplyForm(elt) { return is(elt, "form.reply-form"); }
  function isPoller(elt) { return elt && elt.id === "poller"; }
  function isOlder(elt) { return is(elt, "a.older"); }
  function isMoreReplies(elt) { return is(elt, "a.more-replies"); }

  // Set when "Load older comments" or "Show more replies" had focus (used from the keyboard, or
  // clicked): the link goes away with the swap, so focus moves to the first comment it loaded
  // instead of falling back to the top of the page.
  let focusFirstLoaded = false;

  // Where focus goes when an element with this id comes back from a swap: Edit opens a form in the
  // comment's place (focus in its box), Save and Cancel bring the comment back (focus on its Edit),
  // a deletion leaves its placeholder (focus there). { id, selector: within it, or null: itself }.
  let focusAfter = null;

  // The element of the reader's latest request (anything but the poll): an answer to an earlier
  // one does not take focus from a later one.
  let lastAsked = null;

  function focusAfterSwap(elt) {
    const comment = elt.closest(".comment");
    if (!comment) return;
    // A moderator's verb on one row: the row comes back in its new state (focus on its first
    // button), or the question before a delete takes its place (focus on the question); Cancel
    // there brings the row back, focus on the Delete that asked.
    if (comment.matches(".moderation")) {
      if (is(elt, "form, a")) {
        focusAfter = { id: comment.id,
          selector: is(elt, "a") ? ".actions button.danger" : ":scope:not(.confirm) .actions button" };
      }
      return;
    }
    let selector = null;
    if (is(elt, "a.edit")) selector = "textarea";
    else if (comment.matches(".edit-form")) selector = "a.edit";
    else if (comment.matches(".delete-form") && !is(elt, "form")) selector = "a.delete";
    else if (!is(elt, "a.delete, form.delete-form")) return;
    focusAfter = { id: comment.id, selector: selector };
  }

  // A rejected comment or reply comes back in a new form (same id) holding the server's
  // cleaned-up copy of the text (trimmed, so a first line's indentation, which Markdown reads as
  // code, is lost); the box keeps exactly what was typed. { form: its id, text }.
  let typed = null;

  document.addEventListener("htmx:afterSwap", function () {
    if (typed === null) return;
    const form = document.getElementById(typed.form);
    const box = form && form.querySelector("textarea");
    if (box) box.value = typed.text;
    typed = null;
  });

  htmx.onLoad(function (elt) {
    // The last guard against a comment shown twice: a post's answer that was retargeted (see
    // htmx:beforeOnLoad) skipped sortArrivals, and the poll may have brought it already.
    if (elt.id && is(elt, "article.comment, section.thread") &&
        document.querySelectorAll(elt.localName + "#" + elt.id).length > 1) {
      elt.remove();
      return;
    }
    const comment = is(elt, "section.thread") ? elt.querySelector("article.comment") : elt;
    if (focusFirstLoaded && elt !== document.body && is(comment, "article.comment")) {
      focusFirstLoaded = false;
      focusOn(comment);
    }
    dress(elt);
    const after = focusAfter && elt.id === focusAfter.id ? focusAfter : null;
    if (after) focusAfter = null;
    const invalid = elt.querySelector && elt.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
    // A reply form takes focus only if Reply was the last thing the reader asked for (Reply, then
    // Edit or another Reply, before the first answer came: the later step keeps it), and they are
    // not typing in another form meanwhile.
    else if (isReplyForm(elt) && is(lastAsked, "a.reply") &&
             lastAsked.closest("article.comment").id === "comment-" + elt.id.replace("reply-form-", "") &&
             !(document.activeElement && document.activeElement.closest("form"))) {
      elt.querySelector("textarea").focus();
    }
    else if (after) {
      const target = (after.selector && elt.querySelector(after.selector)) || elt;
      focusOn(target);
      if (is(target, "textarea")) target.setSelectionRange(target.value.length, target.value.length);
    }
  });

  // Requests that are not form posts carry the CSRF token from the page's meta tag.
  document.addEventListener("htmx:configRequest", function (event) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && event.detail.verb !== "get") event.detail.headers["X-CSRFToken"] = meta.content;
  });

  // A hidden tab asks seldom: once in HIDDEN_TICKS of the poller's ticks (every 30 s at the
  // default 5 s), timed by the clock, as browsers slow timers down in hidden tabs; enough for its
  // title to say that something arrived. A tab left open with nobody at it slows down the same
  // way, in steps (IDLE_STEPS: after 2 minutes without a key, a click, a scroll or an arrival, one
  // tick in 3; after 10, one in 6), and is back to every tick, asking at once, on the next sign
  // of life. "board-resume" polls at once.
  const HIDDEN_TICKS = 6;
  const IDLE_STEPS = [[10 * 60000, 6], [2 * 60000, 3]];
  let lastPoll = 0;
  let lastActive = Date.now();

  function ticksPerPoll() {
    if (document.hidden) return HIDDEN_TICKS;
    const idle = Date.now() - lastActive;
    const step = IDLE_STEPS.find(function (pair) { return idle >= pair[0]; });
    return step ? step[1] : 1;
  }

  function pollDue(poller) {
    const every = Number((/every (\d+)s/.exec(poller.getAttribute("data-hx-trigger")) || [0, 5])[1]);
    return Date.now() - lastPoll > (ticksPerPoll() - 0.5) * every * 1000;
  }

  function active() {
    const slowed = ticksPerPoll() > 1;
    lastActive = Date.now();
    if (slowed && !document.hidden) htmx.trigger(document.body, "board-resume");
  }

  ["keydown", "pointerdown", "scroll", "focusin"].forEach(function (type) {
    window.addEventListener(type, active, { passive: true, capture: true });
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = requester(event.detail);
    if (isPoller(elt) && ticksPerPoll() > 1 && !pollDue(elt)) event.preventDefault();
    if (!isPoller(elt)) lastAsked = elt;
    // Reply to a comment whose reply form is open already: back to that form.
    if (is(elt, "a.reply")) {
      const open = document.getElementById("reply-form-" + elt.closest("article.comment").id.replace("comment-", ""));
      if (open) {
        event.preventDefault();
        open.querySelector("textarea").focus();
      }
    }
  });

  // A post's answer goes after the poller it aimed at when it was sent; a poll that landed in
  // the meantime has replaced that poller, so it goes after the one in its place. (Here, not in
  // htmx:beforeSwap: htmx fires that on the old target, which is no longer in the page.)
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    const detail = event.detail;
    if (isForm(requester(detail)) && isPoller(detail.target) && !detail.target.isConnected) {
      detail.target = document.getElementById("poller") || detail.target;
    }
  });

  // New comments must not move what the reader is reading. They go straight in only for a reader
  // at the very top of the page who is not typing; otherwise they wait, hidden, behind the
  // sticky "N new comments" button (#new-comments), which shows them. Replies go straight into
  // their thread: below the reader that moves nothing, and above, the browser's scroll anchoring
  // keeps the text in view where it was.
  function readingTheTop() {
    const field = document.activeElement;
    return window.scrollY < 1 && !(is(field, "textarea, input[type=text]") && field.value !== "");
  }

  function heldThreads() { return document.querySelectorAll("#comments > section.thread.held"); }

  // What a poll brought: said once to screen readers (the button's later counts are not), and
  // counted in the title of a hidden tab. The answer is swapped in right after this.
  const title = document.title;
  let unseen = 0;
  function arrived(news, hold) {
    const button = document.getElementById("new-comments");
    let said = news.threads;
    if (!hold) {
      showHeld(false);
    } else if (news.threads && button) {
      if (!button.hidden) said = 0;
      button.textContent = plural(heldThreads().length + news.threads, "newComments");
      button.hidden = false;
    }
    if (said || news.replies) {
      const parts = [said && plural(said, "newComments"), news.replies && plural(news.replies, "newReplies")].filter(Boolean);
      announce(parts.length === 2 ? say("and", { first: parts[0], second: parts[1] }) : parts.join(""));
    }
    if (document.hidden) {
      unseen += news.threads + news.replies;
      document.title = "(" + unseen + ") " + title;
    }
  }

  // The held threads, in their place at the top of the list; `focus`: the newest of them gets
  // focus (the button that had it goes), which also brings it into view.
  function showHeld(focus) {
    const held = heldThreads();
    held.forEach(function (thread) {
      thread.hidden = false;
      thread.classList.remove("held");
    });
    const button = document.getElementById("new-comments");
    if (button) button.hidden = true;
    if (focus && held.length) focusOn(held[0].querySelector("article.comment"));
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const elt = requester(detail);
    if (!detail.shouldSwap || typeof detail.serverResponse !== "string") return;
    focusAfterSwap(elt);
    if ((isForm(elt) || isReplyForm(elt)) && detail.target && detail.target.id === elt.id) {
      const box = elt.querySelector("textarea");
      typed = box ? { form: elt.id, text: box.value } : null;
      return;
    }
    // Your own reply deleted in place (its form answered by what stays of it): one fewer.
    if (is(elt, "form.delete-form")) {
      const answer = document.createElement("template");
      answer.innerHTML = detail.serverResponse;
      if (answer.content.querySelector("article.removed.reply")) countReply(elt.closest("section.thread"), -1);
    }
    // Only the answers that add to the board; an edit form's answer replaces its own comment,
    // a rejected reply its own form, a preview its preview.
    if (isReplyForm(elt) && !is(detail.target, "section.thread")) return;
    if (!isPoller(elt) && !isForm(elt) && !isReplyForm(elt) && !isOlder(elt) && !isMoreReplies(elt)) return;
    const hold = isPoller(elt) && !readingTheTop();
    const news = sortArrivals(detail, detail.target, !isOlder(elt) && !isMoreReplies(elt), hold);
    if (isPoller(elt) && (news.threads || news.replies)) {
      lastActive = Date.now();  // a board that is talking polls at full speed
      arrived(news, hold);
    } else if (isOlder(elt) || isMoreReplies(elt)) {
      const loaded = (detail.serverResponse.match(/<article class="comment/g) || []).length;
      focusFirstLoaded = loaded > 0 && elt === document.activeElement;
      announce(isOlder(elt) ? plural(news.threads, "olderLoaded") : plural(loaded, "repliesLoaded"));
    }
  });

  function statusOf(form) { return form && form.querySelector(".form-status"); }

  // Messages about an earlier attempt go as soon as the comment is sent again: the answer
  // brings its own (a new form for a 422, a status line for a failure) or none at all.
  function clearFormMessages(form) {
    form.querySelectorAll(".field-error, .form-error").forEach(function (p) { p.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (field) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    });
    showStatus(statusOf(form), "");
  }

  document.addEventListener("htmx:beforeSend", function (event) {
    const elt = requester(event.detail);
    if (isPoller(elt)) lastPoll = Date.now();
    if (isForm(elt) || isReplyForm(elt)) clearFormMessages(elt);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const elt = requester(event.detail);
    const xhr = event.detail.xhr;
    if (isPoller(elt) && xhr && xhr.status < 400) showStatus("board-status", "");
    if (!(isForm(elt) || isReplyForm(elt)) || !xhr || xhr.status !== 201) return;
    const form = isForm(elt) ? document.getElementById("comment-form") : elt;
    const box = form.querySelector("textarea");
    // Empty the box, not form.reset(): after a 422 the swapped-in form's default text is the
    // rejected comment, which reset() would put back. The name stays for the next comment.
    box.value = "";
    clearFormMessages(form);
    const preview = form.querySelector(".preview");
    if (preview) preview.textContent = "";
    box.focus();
    // A comment held for a moderator (BOARD_MODERATION, screening) shows to its author alone,
    // marked "Awaiting approval": said so, rather than "posted".
    const held = /class="comment[^"]*\bheld-comment\b/.test(xhr.responseText || "");
    const reply = !isForm(elt);
    announce(say(held ? (reply ? "replyHeld" : "commentHeld") : (reply ? "replied" : "posted")));
  });

  function onFailure(event) {
    const elt = requester(event.detail);
    const form = elt && elt.closest && elt.closest("form.comment-form");
    const comment = elt && elt.closest && elt.closest(".comment");
    if (form) showStatus(statusOf(form), failureText(event.detail.xhr));
    else if (comment) refused(comment, event.detail.xhr);
    else if (isPoller(elt)) showStatus("board-status", say("lostContact"));
    else showStatus("board-status", failureText(event.detail.xhr));
  }

  // A request about one comment that failed (its time to change it is up, it was removed
  // meanwhile) says so in that comment, in the server's words (its .error-message fragment). A
  // 403 also takes away its Edit and Delete, which the server will not take any more.
  function refused(comment, xhr) {
    const answer = document.createElement("template");
    if (xhr && xhr.status) answer.innerHTML = xhr.responseText;
    let message = answer.content.querySelector(".error-message");
    if (!message) {
      message = document.createElement("p");
      message.className = "error-message";
      message.setAttribute("role", "alert");
      message.textContent = failureText(xhr);
    }
    const old = comment.querySelector(":scope > .error-message");
    const footer = comment.querySelector(":scope > footer");
    if (old) old.replaceWith(message);
    else if (footer) footer.before(message);
    else comment.append(message);
    const actions = xhr && xhr.status === 403 && comment.querySelector(".own-actions");
    if (actions) withdraw(actions, message);
  }
  document.addEventListener("htmx:responseError", onFailure);
  document.addEventListener("htmx:sendError", onFailure);

  // A reply form opened in place closes with Cancel or Escape; focus goes back to its Reply.
  function closeReply(form) {
    const link = document.querySelector("#comment-" + form.id.replace("reply-form-", "") + " a.reply");
    form.remove();
    if (link) link.focus();
  }

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!target.closest) return;
    if (target.closest("#new-comments")) showHeld(true);
    const toggle = target.closest("button.show-more");
    if (toggle) fold(toggle.previousElementSibling, toggle.getAttribute("aria-expanded") === "true");
    const cancel = target.closest("form.reply-form[data-hx-post] a.cancel");
    if (!cancel) return;
    event.preventDefault();
    closeReply(cancel.closest("form"));
  });

  // The theme toggle (templates/_preferences.html): the choice shows at once, and focus goes to
  // the button that shows now (the one pressed goes away with the theme it chose); htmx keeps
  // the choice in a cookie (POST /preferences), and without this file the form posts itself.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const button = event.submitter;
    if (!is(form, "form.theme-switch") || !is(button, "button[name=theme]")) return;
    document.documentElement.dataset.theme = button.value;
    const other = Array.from(form.querySelectorAll("button[name=theme]")).find(function (b) { return b !== button; });
    if (other && (document.activeElement === button || document.activeElement === document.body)) other.focus();
  });

  // Tabbing into the hidden part of a folded comment (a link) unfolds it.
  document.addEventListener("focusin", function (event) {
    const folded = event.target.closest && event.target.closest(".content.folded");
    if (folded) fold(folded, false);
  });

  // The comment form, once used, stays open on a phone (board.css): folding it when focus leaves
  // would move everything under it, and the tap that moved focus would miss.
  document.addEventListener("focusin", function (event) {
    const form = event.target.closest && event.target.closest("#comment-form");
    if (form) form.dataset.opened = "";
  });

  document.addEventListener("keydown", function (event) {
    const box = event.target;
    if (event.key === "Escape" && is(box, "form.reply-form[data-hx-post] textarea")) {
      closeReply(box.form);
      return;
    }
    if (event.key === "Escape" && is(box, "form.edit-form[data-hx-post] textarea")) {
      box.form.querySelector("a.cancel").click();
      return;
    }
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
    if (!is(box, "#comment-form textarea, form.reply-form textarea, form.edit-form textarea")) return;
    event.preventDefault();
    // Like the Post button, which is disabled while a post is on its way: one post at a time.
    const button = box.form.querySelector("[type=submit]");
    if (event.repeat || (button && button.disabled)) return;
    box.form.requestSubmit(button);
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    lastActive = Date.now();
    unseen = 0;
    document.title = title;
    refreshTimes();
    htmx.trigger(document.body, "board-resume");
  });

  setInterval(refreshTimes, 30000);

  // --- Inside another site's page (/embed, framed by static/embed.js) -------------------------
  // That page sizes its iframe to the board: it is told the board's height on load and whenever
  // it changes, at the one origin the server checked against BOARD_EMBED_ORIGINS (never "*").
  // Links that leave the board (a comment's own page, links in comments) open in a new tab
  // rather than inside the iframe.
  const embedOrigin = document.body.dataset.embedOrigin;
  if (embedOrigin && window.parent !== window) {
    let told = 0;
    const tellHeight = function () {
      const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (height === told) return;
      told = height;
      window.parent.postMessage({ board: "height", height: height }, embedOrigin);
    };
    new ResizeObserver(tellHeight).observe(document.documentElement);
    document.addEventListener("htmx:afterSettle", tellHeight);
    window.addEventListener("load", tellHeight);
    window.addEventListener("click", function (event) {
      const link = !event.defaultPrevented && event.target.closest && event.target.closest("a[href]");
      if (link && !link.target) link.target = "_blank";
    });
  }
})();
