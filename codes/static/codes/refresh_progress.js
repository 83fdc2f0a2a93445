// Live progress of refresh runs in the admin: polls the JSON endpoint while a run on the page is queued or running,
// and reloads the page when one of them finishes (so status, release and diff show).
(function () {
  "use strict";
  function live() {
    return Array.prototype.filter.call(document.querySelectorAll(".refresh-progress"), function (el) {
      return el.dataset.status === "queued" || el.dataset.status === "running";
    });
  }
  function endpoint() {
    var here = window.location.pathname;
    var base = here.slice(0, here.indexOf("/refreshrun/") + "/refreshrun/".length);
    return base + "progress/";
  }
  function poll() {
    var spans = live();
    if (!spans.length) { return; }
    var ids = spans.map(function (el) { return el.dataset.run; }).join(",");
    fetch(endpoint() + "?ids=" + ids, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var done = false;
        spans.forEach(function (el) {
          var run = data.runs[el.dataset.run];
          if (!run) { return; }
          if (run.finished) { done = true; }
          el.textContent = run.progress;
          el.dataset.status = run.status;
        });
        if (done) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(poll, 1000); });
})();
