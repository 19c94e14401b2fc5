/* The console's one script (pages work without it): a form being sent says so on its
   button and is not sent twice; the text comes translated from the page's body
   (data-busy-text). */
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.dataset.sending === "1") {
    event.preventDefault();  // a second click while the first is on its way
    return;
  }
  form.dataset.sending = "1";
  var button = event.submitter || form.querySelector("button[type=submit]");
  if (button) {
    button.setAttribute("aria-busy", "true");
    button.classList.add("busy");
    var busy = document.body.dataset.busyText;
    if (busy) {
      button.dataset.label = button.textContent;
      button.textContent = busy;
    }
  }
});
// coming back to a page from the browser's history shows its forms ready again
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-sending]").forEach(function (form) {
    delete form.dataset.sending;
  });
  document.querySelectorAll("button.busy").forEach(function (button) {
    button.classList.remove("busy");
    button.removeAttribute("aria-busy");
    if (button.dataset.label !== undefined) button.textContent = button.dataset.label;
  });
});
