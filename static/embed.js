// Comments under any page of a site (README: "Comments under any page of your site"). A page
// loads this script from the board and marks where its comments go:
//
//   <div class="board-comments" data-board-key="/post/1" data-board-title="My post" data-theme="dark">
//     <a href="https://comments.example.com/embed?key=/post/1&origin=https://blog.example.org">Comments</a>
//   </div>
//   <script src="https://comments.example.com/static/embed.js" async></script>
//
// Each container gets the board of its page key (the page's path when data-board-key is
// missing; its title, document.title when data-board-title is missing; its theme, light or dark,
// from data-theme, else the reader's system decides, as on the board) in an iframe that takes
// the board's height, told by the board's own page (static/board.js) in messages checked here
// to come from that iframe at the board's origin. The link inside stays for readers without
// scripts. Elements with data-board-count-key="/post/1" get "12 comments", all of a page's
// counts in one request to /api/counts.
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script) return;
  const boardOrigin = new URL(script.src).origin;
  const TITLE_MAX = 200; // the board's limit for a title (rules.TITLE_MAX); it cuts too
  const COUNTS_MAX = 100; // keys per /api/counts request
  const frames = [];

  function show(container) {
    const url = new URL("/embed", boardOrigin);
    url.searchParams.set("key", container.dataset.boardKey || location.pathname);
    url.searchParams.set("origin", location.origin);
    url.searchParams.set("title", (container.dataset.boardTitle || document.title).slice(0, TITLE_MAX));
    const theme = container.dataset.theme;
    if (theme === "light" || theme === "dark") url.searchParams.set("theme", theme);
    const frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = "Comments";
    frame.style.width = "100%";
    frame.style.height = "24rem"; // until the board says how tall it is
    frame.style.border = "0";
    frame.style.display = "block";
    container.replaceChildren(frame);
    frames.push(frame);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== boardOrigin) return;
    const frame = frames.find(function (f) { return f.contentWindow === event.source; });
    const data = event.data;
    if (!frame || !data || data.board !== "height") return;
    const height = Number(data.height);
    if (Number.isFinite(height) && height > 0) frame.style.height = Math.ceil(height) + "px";
  });

  function plural(n) { return n === 1 ? "1 comment" : n + " comments"; }

  function fillCounts(elements) {
    const keys = Array.from(new Set(elements.map(function (e) { return e.dataset.boardCountKey; })));
    for (let start = 0; start < keys.length; start += COUNTS_MAX) {
      const url = new URL("/api/counts", boardOrigin);
      keys.slice(start, start + COUNTS_MAX).forEach(function (key) { url.searchParams.append("key", key); });
      fetch(url.href, { credentials: "omit" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (!answer) return;
          elements.forEach(function (element) {
            const count = answer.counts[element.dataset.boardCountKey];
            if (typeof count === "number") element.textContent = plural(count);
          });
        })
        .catch(function () { /* the links keep their own text */ });
    }
  }

  function start() {
    document.querySelectorAll(".board-comments").forEach(show);
    const counted = Array.from(document.querySelectorAll("[data-board-count-key]"));
    if (counted.length) fillCounts(counted);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
