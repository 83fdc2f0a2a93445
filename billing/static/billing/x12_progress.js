// Live progress of X12 uploads in the admin: while one on the page is queued or running, polls its progress
// (billing-x12-upload-progress) and moves its bar; when one ends, reloads the page so its counts or error show.
(function () {
  "use strict";
  var COLOURS = {queued: "#555", running: "#1565c0", done: "#2e7d32", failed: "#c62828"};

  function live() {
    return Array.prototype.filter.call(document.querySelectorAll(".x12-progress"), function (el) {
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
          var bar = el.querySelector(".x12-progress-bar");
          bar.style.width = data.percent + "%";
          bar.style.background = COLOURS[data.status] || "#555";
          el.querySelector(".x12-progress-text").textContent =
            data.status === "running" ? data.percent + "% read" : data.status === "queued" ? "waiting to start" : data.status;
          el.dataset.status = data.status;
          return data.status === "done" || data.status === "failed";
        });
    }))
      .then(function (finished) {
        if (finished.indexOf(true) >= 0) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(poll, 500); });
})();
