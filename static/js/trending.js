// Trending settings (issue 19): ticking a category refreshes the "Trending now" list without saving.
(function () {
  "use strict";
  var form = document.querySelector("[data-trending-form]");
  if (!form) return;
  var target = document.querySelector("[data-trending-preview]");
  var url = form.getAttribute("data-trending-preview-url");
  var pending = null;
  function refresh() {
    var params = new URLSearchParams();
    form.querySelectorAll('input[name="categories"]:checked').forEach(function (box) {
      params.append("categories", box.value);
    });
    if (pending) pending.abort();
    pending = new AbortController();
    var asked = pending;
    fetch(url + "?" + params.toString(), { credentials: "same-origin", signal: pending.signal })
      .then(function (response) {
        if (response.status === 429) {
          // Throttled (ticking fast, or the previous list still being made): ask again shortly.
          var wait = parseFloat(response.headers.get("Retry-After")) || 1;
          setTimeout(function () { if (pending === asked) refresh(); }, wait * 1000);
          return null;
        }
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) { if (html !== null) target.innerHTML = html; })
      .catch(function () {});
  }
  form.querySelectorAll('input[name="categories"]').forEach(function (box) {
    box.addEventListener("change", refresh);
  });
})();
