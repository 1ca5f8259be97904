/*
 * Focus comes back to what opened a dialog when the dialog closes (WCAG 2.4.3).
 *
 * The portal's dialogs are opened by the page's state (Radix `open=`), not by a Radix trigger,
 * so Radix has no trigger to give the focus back to and leaves it on <body>: a keyboard user
 * starts again from the top of the page. This remembers the last element focused outside any
 * dialog and focuses it again when the last dialog has gone and the focus is nowhere, if that
 * element is still on the page.
 */
(function () {
  "use strict";
  var DIALOGS = "[role=dialog], [role=alertdialog]";
  var opener = null;
  var dialogShown = false;
  var pending = false;

  document.addEventListener("focusin", function (event) {
    var target = event.target;
    // Radix's focus guards (at the edges of <body> while a dialog is open) are not openers.
    if (target instanceof Element && !target.closest(DIALOGS) && !target.hasAttribute("data-radix-focus-guard")) {
      opener = target;
    }
  });

  function check() {
    pending = false;
    if (document.querySelector(DIALOGS)) {
      dialogShown = true;
      return;
    }
    if (!dialogShown) return; // only when a dialog has just gone, never otherwise
    dialogShown = false;
    var lost = !document.activeElement || document.activeElement === document.body;
    if (lost && opener && opener.isConnected) opener.focus({ preventScroll: true });
  }

  function watch() {
    new MutationObserver(function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(check); // after Radix's own close handling
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.body) watch();
  else document.addEventListener("DOMContentLoaded", watch);
})();
