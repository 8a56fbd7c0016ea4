// Follows a running background job (后台任务) on its page: polls the job's status JSON every
// 1.5 seconds, moves the progress bar, and reloads the page once the job has finished so the
// server shows the download button, the summary or the error. Without JavaScript the page
// reloads itself (<noscript> meta refresh) instead.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || !box.dataset.statusUrl || typeof fetch === "undefined") {
    return;
  }
  var bar = document.getElementById("job-bar");
  var progress = document.getElementById("job-progress");
  var count = document.getElementById("job-count");
  var label = document.getElementById("job-state");
  var INTERVAL = 1500;
  var failures = 0;

  function show(data) {
    if (bar) {
      bar.style.width = data.percent + "%";
      bar.textContent = data.percent + "%";
    }
    if (progress) {
      progress.setAttribute("aria-valuenow", String(data.percent));
    }
    if (count) {
      count.textContent = data.message;
    }
    if (label) {
      label.textContent = data.state_label;
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (data.state === "done" || data.state === "failed") {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        // A brief network hiccup should not stop the page; give up after a minute of failures.
        failures += 1;
        if (failures < 40) {
          window.setTimeout(poll, INTERVAL);
        } else {
          var count = document.getElementById("job-count");
          if (count) {
            count.textContent = "无法获取任务进度,请刷新页面。";
          }
        }
      });
  }

  window.setTimeout(poll, INTERVAL);
}());
