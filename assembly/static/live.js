// Keeps a live page (the assembly's projector screen, a phone waiting for the next vote) up
// to date: every few seconds it fetches the page again and swaps in the new content of the
// element marked data-live, without reloading (no flicker, focus and scroll kept).
// Without JavaScript the page has a "Refresh" link.
(function () {
  "use strict";
  var region = document.querySelector("[data-live]");
  if (!region || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = parseInt(region.getAttribute("data-live"), 10) || 5;

  function poll() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (text) {
          var fresh = new DOMParser().parseFromString(text, "text/html").querySelector("[data-live]");
          if (!fresh) {
            // The page changed its kind (a vote opened): show the new page.
            window.location.reload();
            return;
          }
          if (fresh.innerHTML !== region.innerHTML) {
            region.innerHTML = fresh.innerHTML;
          }
        }
        window.setTimeout(poll, seconds * 1000);
      })
      .catch(function () {
        window.setTimeout(poll, seconds * 2000);
      });
  }

  window.setTimeout(poll, seconds * 1000);
})();
