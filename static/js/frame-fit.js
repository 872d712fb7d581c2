/* A same-origin iframe as tall as its document (the archived digest), so the page scrolls, not the frame.
   Without this file the frame keeps its CSS height and scrolls on its own. */
(function () {
  "use strict";
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      frame.style.height = "10px"; /* measure the document, not the frame it already fills */
      frame.style.height = doc.documentElement.scrollHeight + "px";
    } catch (e) {
      /* not same-origin: keep the CSS height */
    }
  }
  document.querySelectorAll("iframe[data-fit-content]").forEach(function (frame) {
    frame.addEventListener("load", function () {
      fit(frame);
    });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit(frame);
    window.addEventListener("resize", function () {
      fit(frame);
    });
  });
})();
