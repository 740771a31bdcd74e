// Keeps a running roster import's progress bar up to date, without reloading the page.
// Without JavaScript the page still works: it has a "Refresh now" link.
(function () {
  "use strict";
  var region = document.querySelector("[data-progress-url]");
  if (!region || !window.fetch) {
    return;
  }
  var bar = region.querySelector("progress");
  var label = region.querySelector("label");
  var done = region.querySelector("[data-progress-done]");
  var number = new Intl.NumberFormat("en-GB");

  function poll() {
    fetch(region.getAttribute("data-progress-url"), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (state) {
        if (!state) {
          return;
        }
        if (!state.running || state.stalled) {
          // Finished (or stopped): show the result the person asked for.
          done.hidden = false;
          window.location.reload();
          return;
        }
        bar.max = state.total;
        bar.value = state.line;
        bar.textContent = state.percent + "%";
        label.textContent =
          "Line " + number.format(state.line) + " of about " + number.format(state.total) +
          " (" + state.percent + "%)";
        window.setTimeout(poll, 1500);
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1500);
})();
