/* The console's copy buttons: each ".copy-id" button copies its data-copy (a full public id).
 *
 * The buttons are hidden in the HTML and shown here, so without JavaScript only the chip shows
 * (its title holds the full id). Once pressed, the button shows a tick if the clipboard took the
 * text or a cross if the browser refused it, and says so in data-copy-state ("copied" or
 * "refused") and its title. No inline script, no third-party code.
 */
(function () {
  "use strict";

  var LABELS = {copied: ["\u2713", "Copied"], refused: ["\u2717", "Not copied: the browser refused"]};

  function copied(button, state) {
    var idle = button.getAttribute("data-idle") || button.textContent;
    button.setAttribute("data-idle", idle);
    button.setAttribute("data-copy-state", state);
    button.textContent = LABELS[state][0];
    button.title = LABELS[state][1];
    button.classList.add("copy-done");
    window.setTimeout(function () {
      button.textContent = idle;
      button.title = "Copy the full id";
      button.classList.remove("copy-done");
    }, 1500);
  }

  function copy(button) {
    var text = button.getAttribute("data-copy") || "";
    button.setAttribute("data-copied", text); // What was last handed to the clipboard.
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(
        function () { copied(button, "copied"); },
        function () { copied(button, "refused"); }
      );
    } else {
      copied(button, "refused");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy-id") : null;
    if (button) {
      event.preventDefault();
      copy(button);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.copy-id").forEach(function (button) {
      button.hidden = false;
    });
  });
})();
