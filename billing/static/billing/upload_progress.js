// Batch uploads in the admin list: each bar polls billing-upload-progress (job_progress.js does the polling).
(function () {
  "use strict";

  function text(data) {
    if (data.status === "queued") { return "waiting to start"; }
    if (data.status === "running") {
      return data.percent + "% (" + data.done.toLocaleString() + " of " + data.total.toLocaleString() + " claims)";
    }
    return data.status;
  }

  window.billingJobProgress(".upload-progress", function (el, data) {
    var bar = el.querySelector(".upload-progress-bar");
    var label = el.querySelector(".upload-progress-text");
    if (bar) {
      bar.style.width = (data.status === "done" ? 100 : data.percent) + "%";
      bar.style.background = window.billingJobProgress.COLOURS[data.status] || "#555";
    }
    if (label) { label.textContent = text(data); }
  });
})();
