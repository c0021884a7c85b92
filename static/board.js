// The few behaviours HTML and htmx cannot express. Everything works without this file; it adds
// local times, form reset and focus, Ctrl+Enter, pausing the poll in hidden tabs, de-duplication,
// announcements for screen readers and messages when a request fails.
(function () {
  "use strict";

  const lang = document.documentElement.lang || undefined;
  const absolute = new Intl.DateTimeFormat(lang, {
    weekday: "long", day: "2-digit", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
  const relativeFormat = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60]];

  function relative(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
    }
    return "just now";
  }

  // The server wrote the time in UTC (or BOARD_TIMEZONE); show it in the reader's zone, and how
  // long ago. The datetime attribute stays as the server wrote it.
  function localiseTimes(root) {
    root.querySelectorAll("time.posted").forEach(function (time) {
      const date = new Date(time.dateTime);
      if (isNaN(date)) return;
      time.textContent = absolute.format(date);
      time.title = date.toUTCString();
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

  // A comment can arrive twice: by the answer to its own POST and by the next poll. The copy
  // that just arrived sits where the server put it, so the older copy goes.
  function dropDuplicates(elt) {
    document.querySelectorAll('article.comment[id="' + elt.id + '"]').forEach(function (other) {
      if (other !== elt) other.remove();
    });
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

  function isForm(elt) { return elt && elt.id === "comment-form"; }
  function isPoller(elt) { return elt && elt.id === "poller"; }

  htmx.onLoad(function (elt) {
    if (elt !== document.body && elt.matches && elt.matches("article.comment")) {
      dropDuplicates(elt);
      elt.classList.add("new");
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
    if (isPoller(event.detail.elt) && document.hidden) event.preventDefault();
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (isPoller(event.detail.elt) && event.detail.xhr.status === 200) {
      const count = (event.detail.serverResponse.match(/<article /g) || []).length;
      if (count) announce(count === 1 ? "1 new comment" : count + " new comments");
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const elt = event.detail.elt;
    const xhr = event.detail.xhr;
    if (isPoller(elt) && xhr && xhr.status < 400) showStatus("board-status", "");
    if (!isForm(elt) || !xhr || xhr.status !== 201) return;
    const form = document.getElementById("comment-form");
    form.reset();
    form.querySelectorAll(".field-error, .form-error").forEach(function (p) { p.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (field) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    });
    showStatus("form-status", "");
    form.querySelector("textarea").focus();
    announce("Your comment was posted.");
  });

  function onFailure(event) {
    const elt = event.detail.elt;
    if (isForm(elt)) showStatus("form-status", failureText(event.detail.xhr));
    else if (isPoller(elt)) showStatus("board-status", "Lost contact with the board; retrying.");
    else showStatus("board-status", failureText(event.detail.xhr));
  }
  document.addEventListener("htmx:responseError", onFailure);
  document.addEventListener("htmx:sendError", onFailure);

  document.addEventListener("keydown", function (event) {
    const box = event.target;
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (!box.matches || !box.matches("#comment-form textarea")) return;
    event.preventDefault();
    box.form.requestSubmit();
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) htmx.trigger(document.body, "board-resume");
  });

  setInterval(refreshAgo, 30000);
})();
