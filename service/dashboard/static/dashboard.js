// Herd dashboard: copy buttons and job progress. No dependencies; pages work without it.
(function () {
  "use strict";

  function announce(key, text) {
    var status = document.querySelector('[data-copy-status="' + key + '"]');
    if (status) { status.textContent = text; }
  }

  function fallbackCopy(input) {
    input.focus();
    input.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  function copy(button) {
    var key = button.getAttribute("data-copy");
    var input = document.getElementById(key);
    if (!input) { return; }
    var text = input.value || input.textContent;
    var done = function () { announce(key, "Copied to the clipboard."); };
    var failed = function () {
      if (fallbackCopy(input)) { done(); } else { announce(key, "Select the text and press Ctrl+C to copy it."); }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  }

  function describe(job) {
    var n = function (x) { return (x || 0).toLocaleString("en-US"); };
    if (job.status === "queued") { return "Queued: waiting for a worker…"; }
    if (job.status === "running") {
      return "Running: " + n(job.done) + " of " + n(job.total) + " learners (" + job.percent + " %)…";
    }
    if (job.status === "done") {
      return "Done: " + n(job.done) + (job.done === 1 ? " learner" : " learners") + " re-evaluated, " +
        n(job.added) + (job.added === 1 ? " training" : " trainings") + " assigned.";
    }
    if (job.status === "cancelled") { return "Cancelled: nothing was changed."; }
    return "Failed: " + (job.error || "the re-run stopped.");
  }

  function poll(box) {
    var url = box.getAttribute("data-job-url");
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-job-text]");
    var timer = null;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (job) {
          bar.value = job.percent;
          bar.textContent = job.percent + " %";
          text.textContent = describe(job);
          box.setAttribute("data-job-status", job.status);
          if (job.status === "queued" || job.status === "running") { timer = setTimeout(tick, 1000); }
          else if (box.hasAttribute("data-job-reload")) { window.location.reload(); }  // a preview: show its result
        })
        .catch(function () { timer = setTimeout(tick, 5000); });
    }
    var status = box.getAttribute("data-job-status");
    if (status === "queued" || status === "running") { tick(); }
    window.addEventListener("pagehide", function () { if (timer) { clearTimeout(timer); } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copy(button); });
    });
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
    document.querySelectorAll("[data-job-url]").forEach(poll);
    localTimes();
  });

  // Times are sent in UTC; show them in the admin's own time zone, with the UTC text on hover.
  function localTimes() {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime()) || el.hasAttribute("title")) { return; }
      el.setAttribute("title", el.textContent.trim());
      var seconds = /:\d\d:\d\d/.test(el.textContent);
      el.textContent = when.toLocaleString(undefined, {
        year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
        second: seconds ? "2-digit" : undefined, timeZoneName: "short"
      });
    });
  }
})();
