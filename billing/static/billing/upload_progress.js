// Live progress of batch uploads in the admin: while an upload on the page is queued or running, polls its progress
// (billing-upload-progress) and moves its bar; when one finishes, reloads the page so its counts, results link or
// error show.
(function () {
  "use strict";
  var COLOURS = {queued: "#555", running: "#1565c0", done: "#2e7d32", failed: "#c62828"};
  var POLL_MS = 1500;

  function live() {
    return Array.prototype.filter.call(document.querySelectorAll(".upload-progress"), function (el) {
      return el.dataset.status === "queued" || el.dataset.status === "running";
    });
  }

  function text(data) {
    if (data.status === "queued") { return "waiting to start"; }
    if (data.status === "running") {
      return data.percent + "% (" + data.done.toLocaleString() + " of " + data.total.toLocaleString() + " claims)";
    }
    return data.status;
  }

  function show(el, data) {
    var bar = el.querySelector(".upload-progress-bar");
    var label = el.querySelector(".upload-progress-text");
    if (bar) {
      bar.style.width = (data.status === "done" ? 100 : data.percent) + "%";
      bar.style.background = COLOURS[data.status] || "#555";
    }
    if (label) { label.textContent = text(data); }
    el.dataset.status = data.status;
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
          return data.status === "done" || data.status === "failed";
        });
    }))
      .then(function (finished) {
        if (finished.indexOf(true) >= 0) { window.location.reload(); } else { window.setTimeout(poll, POLL_MS); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(poll, 500); });
})();
