// Live progress of background jobs in the admin lists (batch uploads, X12 uploads): while a job on the page is
// queued or running, polls its progress URL (the element's data-url) and lets the page's own `show` move its bar;
// when one ends, reloads the page so its counts, results link or error show.
window.billingJobProgress = function (selector, show) {
  "use strict";
  var POLL_MS = 1500;

  function live() {
    return Array.prototype.filter.call(document.querySelectorAll(selector), function (el) {
      return el.dataset.status === "queued" || el.dataset.status === "running";
    });
  }

  function poll() {
    var els = live();
    if (!els.length) { return; }
    Promise.all(els.map(function (el) {
      return fetch(el.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return false; }
          show(el, data);
          el.dataset.status = data.status;
          return data.status === "done" || data.status === "failed";
        });
    }))
      .then(function (finished) {
        if (finished.indexOf(true) >= 0) { window.location.reload(); } else { window.setTimeout(poll, POLL_MS); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(poll, 500); });
};
window.billingJobProgress.COLOURS = {queued: "#555", running: "#1565c0", done: "#2e7d32", failed: "#c62828"};
