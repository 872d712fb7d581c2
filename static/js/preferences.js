/* Progressive enhancement for the interests editor. Without this file every feature still works:
   "Preview" buttons post to the preview page and example chips are links.
   - live preview while typing (server-rendered, already escaped HTML fragment)
   - time zone pre-filled from the browser during onboarding
   - the weekday only matters for weekly digests */
(function () {
  "use strict";

  var panel = document.querySelector("[data-preview-panel]");
  var status = document.querySelector("[data-preview-status]");
  var previewUrl = panel ? panel.getAttribute("data-preview-url") : null;
  var timer = null;
  var inflight = null;
  var lastKey = null;

  function browserTimeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function queryInput(form) {
    return form.querySelector('input[type="text"]');
  }

  function runPreview(form, immediate) {
    if (!panel || !previewUrl) return;
    var input = queryInput(form);
    if (!input) return;
    var interest = form.getAttribute("data-interest") || "";
    var key = interest + "\u0000" + input.value;
    if (key === lastKey && !immediate) return;
    clearTimeout(timer);
    timer = setTimeout(function () {
      lastKey = key;
      if (inflight) inflight.abort();
      inflight = typeof AbortController === "function" ? new AbortController() : null;
      var params = new URLSearchParams({ q: input.value, fragment: "1" });
      if (interest) params.set("interest", interest);
      panel.setAttribute("aria-busy", "true");
      fetch(previewUrl + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        signal: inflight ? inflight.signal : undefined,
      })
        .then(function (response) {
          if (response.status === 429) {
            // Throttled (too fast, or the previous preview still running): ask again shortly.
            var wait = parseFloat(response.headers.get("Retry-After")) || 1;
            setTimeout(function () {
              if (lastKey === key) { lastKey = null; runPreview(form, true); }
            }, wait * 1000);
            return null;
          }
          if (!response.ok) throw new Error("preview failed: " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (html === null) return;
          panel.innerHTML = html;
          panel.removeAttribute("aria-busy");
          if (status) {
            var count = panel.querySelector(".preview-count, .query-error, .empty");
            status.textContent = count ? count.textContent.replace(/\s+/g, " ").trim() : "";
          }
        })
        .catch(function (err) {
          if (err && err.name === "AbortError") return;
          panel.removeAttribute("aria-busy");
        });
    }, immediate ? 0 : 200);
  }

  document.querySelectorAll("[data-preview-form]").forEach(function (form) {
    var input = queryInput(form);
    if (!input) return;
    input.setAttribute("aria-controls", "preview");
    input.addEventListener("input", function () {
      runPreview(form, false);
    });
    input.addEventListener("focus", function () {
      runPreview(form, false);
    });
    var button = form.querySelector("[data-preview-button]");
    if (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        runPreview(form, true);
        if (window.matchMedia("(max-width: 880px)").matches) panel.scrollIntoView({ behavior: "smooth" });
      });
    }
  });

  // Example chips fill the "add" box instead of leaving the page.
  var addForm = document.querySelector("form.add-interest");
  document.querySelectorAll("[data-example]").forEach(function (chip) {
    chip.addEventListener("click", function (event) {
      if (!addForm) return;
      event.preventDefault();
      var input = queryInput(addForm);
      input.value = chip.getAttribute("data-example");
      input.focus();
      runPreview(addForm, true);
    });
  });

  // Onboarding: the browser knows the subscriber's time zone better than our default.
  var zone = browserTimeZone();
  var hidden = document.querySelector("[data-browser-timezone]");
  if (hidden && zone) hidden.value = zone;
  var settingsForm = document.querySelector("[data-settings-form]");
  if (settingsForm && settingsForm.hasAttribute("data-onboarding") && zone) {
    var select = settingsForm.querySelector('select[name="timezone"]');
    if (select && Array.prototype.some.call(select.options, function (o) { return o.value === zone; })) {
      select.value = zone;
      var note = settingsForm.querySelector("[data-timezone-note]");
      if (note) note.hidden = false;
    }
  }

  // Weekday only applies to weekly digests.
  if (settingsForm) {
    var weekday = settingsForm.querySelector('select[name="weekday"]');
    var radios = settingsForm.querySelectorAll('input[name="frequency"]');
    var sync = function () {
      var weekly = settingsForm.querySelector('input[name="frequency"]:checked');
      if (weekday) weekday.disabled = !(weekly && weekly.value === "weekly");
    };
    radios.forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
    // A disabled select is not submitted; re-enable it so the stored weekday survives a daily save.
    settingsForm.addEventListener("submit", function () {
      if (weekday) weekday.disabled = false;
    });
  }
})();
