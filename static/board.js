// The few behaviours HTML and htmx cannot express. Everything works without this file; it adds
// local times, emptying and focusing the box after a post, Ctrl+Enter, pausing the poll in hidden
// tabs, de-duplication, announcements for screen readers and messages when a request fails.
(function () {
  "use strict";

  const lang = document.documentElement.lang || undefined;
  const absolute = new Intl.DateTimeFormat(lang, {
    weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "numeric", minute: "2-digit",
  });
  const relativeFormat = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60]];

  function relative(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    if (seconds > -60) return "just now"; // also when the reader's clock is behind the server's
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
    }
    return "just now";
  }

  // The server wrote times in UTC (or BOARD_TIMEZONE); show them in the reader's zone, and how
  // long ago a comment was posted. The datetime attributes stay as the server wrote them.
  function localiseTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (time) {
      if (time.dateTime.indexOf("T") < 0) return; // a date alone has no time of day to convert
      const date = new Date(time.dateTime);
      if (isNaN(date)) return;
      time.textContent = absolute.format(date);
      time.title = date.toUTCString();
      if (!time.classList.contains("posted")) return;
      let ago = time.parentElement.nextElementSibling;
      if (!ago || !ago.classList.contains("ago")) {
        ago = document.createElement("span");
        ago.className = "ago";
        time.parentElement.after(ago);
      }
      ago.dataset.datetime = time.dateTime;
      ago.textContent = relative(date);
    });
  }

  function refreshAgo() {
    document.querySelectorAll(".ago[data-datetime]").forEach(function (ago) {
      ago.textContent = relative(new Date(ago.dataset.datetime));
    });
  }

  // What an answer brings to the list (a poll, a post, an older page), sorted before it is
  // swapped in. A comment can arrive twice: by the answer to its own POST and by the next poll;
  // the copy already shown stays where it is and the answer's copy is dropped, so a comment is
  // never shown twice, not even for a frame. A poll also brings fresh copies (data-change) of
  // comments since edited, hidden or deleted: each takes its old copy's place (an out-of-band
  // swap), or is dropped when this page does not show it. Returns how many comments are new.
  function sortArrivals(detail) {
    const template = document.createElement("template");
    template.innerHTML = detail.serverResponse;
    let fresh = 0;
    let rewritten = false;
    template.content.querySelectorAll("article.comment[id]").forEach(function (copy) {
      if (copy.hasAttribute("hx-swap-oob")) return;
      const shown = document.getElementById(copy.id);
      if (copy.hasAttribute("data-change")) {
        // Only over a shown comment, not over an edit form that has taken its place. A comment
        // this page never showed (hidden when it loaded, since unhidden) goes where it belongs.
        if (shown && shown.matches("article.comment")) copy.setAttribute("hx-swap-oob", "true");
        else if (!shown && !copy.classList.contains("removed")) placeInOrder(copy);
        else copy.remove();
        rewritten = true;
      } else if (shown) {
        copy.remove();
        rewritten = true;
      } else {
        fresh += 1;
      }
    });
    if (rewritten) detail.serverResponse = template.innerHTML;
    return fresh;
  }

  // Newest first, by the time posted (the datetime attributes are all UTC, all one format) and
  // then by id, as the server orders pages. Older than everything shown: it comes with "Load
  // older comments" when there is such a link; otherwise it goes last.
  function orderKey(article) {
    const time = article.querySelector("time.posted");
    return [time ? time.getAttribute("datetime") : "", Number(article.id.replace("comment-", ""))];
  }

  function placeInOrder(copy) {
    const list = document.getElementById("comments");
    copy.remove();
    if (!list) return;
    copy.removeAttribute("data-change");
    const key = orderKey(copy);
    const later = Array.from(list.querySelectorAll(":scope > article.comment")).find(function (shown) {
      const other = orderKey(shown);
      return other[0] < key[0] || (other[0] === key[0] && other[1] < key[1]);
    });
    const older = list.querySelector(":scope > a.older");
    if (later) later.before(copy);
    else if (older) return;
    else list.append(copy);
    htmx.process(copy);
    localiseTimes(copy);
  }

  function announce(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  function showStatus(id, text) {
    const status = document.getElementById(id);
    if (!status) return;
    status.textContent = text || "";
    status.hidden = !text;
  }

  function failureText(xhr) {
    if (!xhr || !xhr.status) return "The board could not be reached. Check your connection and try again.";
    if (xhr.status === 429) {
      const wait = xhr.getResponseHeader("Retry-After");
      return "You are posting too fast." + (wait ? " Try again in " + wait + " seconds." : "");
    }
    if (xhr.status === 503) return "The board is unavailable right now. Nothing was lost: try again in a moment.";
    return "Something went wrong (" + xhr.status + "). Try again in a moment.";
  }

  // The element that made the request. (An event's detail.elt is where the event fired: the
  // target for htmx:beforeSwap, a parent for htmx:afterRequest once the element was swapped out.)
  function requester(detail) {
    return (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
  }

  function isForm(elt) { return elt && elt.id === "comment-form"; }
  function isPoller(elt) { return elt && elt.id === "poller"; }
  function isOlder(elt) { return elt && elt.matches && elt.matches("a.older"); }

  // Set when "Load older comments" had focus (used from the keyboard, or clicked): the link goes
  // away with the swap, so focus moves to the first comment it loaded instead of falling back to
  // the top of the page.
  let focusFirstLoaded = false;

  // A rejected comment comes back in a new form holding the server's cleaned-up copy of the text
  // (trimmed, so a first line's indentation is lost); the box keeps exactly what was typed.
  let typed = null;

  document.addEventListener("htmx:afterSwap", function () {
    if (typed === null) return;
    const box = document.querySelector("#comment-form textarea");
    if (box) box.value = typed;
    typed = null;
  });

  htmx.onLoad(function (elt) {
    // The last guard against a comment shown twice: a post's answer that was retargeted (see
    // htmx:beforeOnLoad) skipped sortArrivals, and the poll may have brought it already.
    if (elt.id && elt.matches && elt.matches("article.comment") &&
        document.querySelectorAll("article.comment#" + elt.id).length > 1) {
      elt.remove();
      return;
    }
    if (elt !== document.body && elt.matches && elt.matches("article.comment")) {
      if (focusFirstLoaded) {
        focusFirstLoaded = false;
        elt.tabIndex = -1;
        elt.focus();
      } else {
        elt.classList.add("new");
      }
    }
    localiseTimes(elt);
    const invalid = elt.querySelector && elt.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });

  // Requests that are not form posts carry the CSRF token from the page's meta tag.
  document.addEventListener("htmx:configRequest", function (event) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && event.detail.verb !== "get") event.detail.headers["X-CSRFToken"] = meta.content;
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    // No polling from a hidden tab; "board-resume" polls at once when it is shown again.
    if (isPoller(requester(event.detail)) && document.hidden) event.preventDefault();
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

  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const elt = requester(detail);
    if (!detail.shouldSwap || typeof detail.serverResponse !== "string") return;
    if (isForm(elt) && isForm(detail.target)) {
      const box = elt.querySelector("textarea");
      typed = box ? box.value : null;
      return;
    }
    // Only the answers that add to the list; an edit form's answer replaces its own comment.
    if (!isPoller(elt) && !isForm(elt) && !isOlder(elt)) return;
    const count = sortArrivals(detail);
    if (isPoller(elt) && count) {
      announce(count === 1 ? "1 new comment" : count + " new comments");
    } else if (isOlder(elt)) {
      focusFirstLoaded = count > 0 && elt === document.activeElement;
      announce(count === 1 ? "1 older comment loaded" : count + " older comments loaded");
    }
  });

  // Messages about an earlier attempt go as soon as the comment is sent again: the answer
  // brings its own (a new form for a 422, a status line for a failure) or none at all.
  function clearFormMessages(form) {
    form.querySelectorAll(".field-error, .form-error").forEach(function (p) { p.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (field) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    });
    showStatus("form-status", "");
  }

  document.addEventListener("htmx:beforeSend", function (event) {
    const elt = requester(event.detail);
    if (isForm(elt)) clearFormMessages(elt);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const elt = requester(event.detail);
    const xhr = event.detail.xhr;
    if (isPoller(elt) && xhr && xhr.status < 400) showStatus("board-status", "");
    if (!isForm(elt) || !xhr || xhr.status !== 201) return;
    const form = document.getElementById("comment-form");
    const box = form.querySelector("textarea");
    // Empty the box, not form.reset(): after a 422 the swapped-in form's default text is the
    // rejected comment, which reset() would put back. The name stays for the next comment.
    box.value = "";
    clearFormMessages(form);
    box.focus();
    announce("Your comment was posted.");
  });

  function onFailure(event) {
    const elt = requester(event.detail);
    if (isForm(elt)) showStatus("form-status", failureText(event.detail.xhr));
    else if (isPoller(elt)) showStatus("board-status", "Lost contact with the board; retrying.");
    else showStatus("board-status", failureText(event.detail.xhr));
  }
  document.addEventListener("htmx:responseError", onFailure);
  document.addEventListener("htmx:sendError", onFailure);

  document.addEventListener("keydown", function (event) {
    const box = event.target;
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
    if (!box.matches || !box.matches("#comment-form textarea")) return;
    event.preventDefault();
    // Like the Post button, which is disabled while a post is on its way: one post at a time.
    const button = box.form.querySelector("[type=submit]");
    if (event.repeat || (button && button.disabled)) return;
    box.form.requestSubmit();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    refreshAgo();
    htmx.trigger(document.body, "board-resume");
  });

  setInterval(refreshAgo, 30000);
})();
