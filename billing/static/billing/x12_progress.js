// X12 uploads in the admin list: each bar polls billing-x12-upload-progress (job_progress.js does the polling).
(function () {
  "use strict";

  window.billingJobProgress(".x12-progress", function (el, data) {
    var bar = el.querySelector(".x12-progress-bar");
    bar.style.width = data.percent + "%";
    bar.style.background = window.billingJobProgress.COLOURS[data.status] || "#555";
    el.querySelector(".x12-progress-text").textContent =
      data.status === "running" ? data.percent + "% read" : data.status === "queued" ? "waiting to start" : data.status;
  });
})();
