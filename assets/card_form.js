/*
 * The portal's card form: Stripe.js Elements, loaded from STRIPE_JS_URL (Stripe's, or the demo
 * sandbox's stand-in). The card number goes from this page to Stripe only; the portal's backend
 * gets back nothing but "the SetupIntent (or PaymentIntent) succeeded" (or Stripe's error message).
 *
 *   await window.clerkCard.mount(stripeJsUrl, publishableKey, "#card-element")
 *   await window.clerkCard.confirm(clientSecret, cardholderName) -> {ok, status} | {error, code}
 *   await window.clerkCard.confirmPayment(paymentClientSecret, cardholderName) -> {ok, status} | {error, code}
 */
(function () {
  "use strict";
  var scripts = {};
  var state = { stripe: null, card: null, key: null, target: null, complete: false, error: "" };

  function loadScript(url) {
    if (!scripts[url]) {
      scripts[url] = new Promise(function (resolve, reject) {
        if (window.Stripe) return resolve();
        var tag = document.createElement("script");
        tag.src = url;
        tag.async = true;
        tag.onload = function () { resolve(); };
        tag.onerror = function () { delete scripts[url]; reject(new Error("Stripe.js could not be loaded")); };
        document.head.appendChild(tag);
      });
    }
    return scripts[url];
  }

  function waitFor(selector, timeoutMs) {
    return new Promise(function (resolve, reject) {
      var started = Date.now();
      (function look() {
        var node = document.querySelector(selector);
        if (node) return resolve(node);
        if (Date.now() - started > timeoutMs) return reject(new Error("no " + selector + " on the page"));
        setTimeout(look, 50);
      })();
    });
  }

  function mount(stripeJsUrl, publishableKey, selector) {
    return loadScript(stripeJsUrl)
      .then(function () { return waitFor(selector, 10000); })
      .then(function (node) {
        if (!state.stripe || state.key !== publishableKey) {
          state.stripe = window.Stripe(publishableKey);
          state.key = publishableKey;
        }
        if (state.card) state.card.unmount();
        state.card = state.stripe.elements().create("card", { hidePostalCode: true });
        state.card.on("change", function (event) {
          state.complete = !!event.complete;
          state.error = event.error ? event.error.message : "";
          var message = document.querySelector(selector + "-error");
          if (message) message.textContent = state.error;
        });
        state.card.mount(node);
        state.target = selector;
        return { ok: true };
      })
      .catch(function (error) { return { error: error.message, code: "stripe_js_unavailable" }; });
  }

  // Stripe draws the bank's 3-D Secure dialog at the end of <body>, outside any dialog of ours.
  // A modal Radix dialog makes everything outside itself inert (pointer-events: none on the body,
  // a focus trap, dismissal on an outside pointer or Esc), so the bank's dialog could be neither
  // clicked nor closed. While Stripe confirms a card typed into a dialog, that dialog gives way,
  // and takes its place back afterwards.
  function makeRoomForTheBank() {
    var node = state.target && document.querySelector(state.target);
    var host = node && node.closest('[role="dialog"], [role="alertdialog"]');
    if (!host) return function () {};
    var body = document.body;
    var inert = body.style.pointerEvents === "none";
    if (inert) body.style.pointerEvents = "";
    function outside(target) { return target instanceof Node && !host.contains(target); }
    // Capturing on window runs before the dialog's own listeners on the document.
    function keepToTheBank(event) {
      if (outside(event.type === "focusout" ? event.relatedTarget : event.target)) event.stopPropagation();
    }
    function escape(event) { if (event.key === "Escape") event.stopPropagation(); }
    var kinds = ["focusin", "focusout", "pointerdown", "mousedown", "touchstart"];
    kinds.forEach(function (kind) { window.addEventListener(kind, keepToTheBank, true); });
    window.addEventListener("keydown", escape, true);
    return function release() {
      kinds.forEach(function (kind) { window.removeEventListener(kind, keepToTheBank, true); });
      window.removeEventListener("keydown", escape, true);
      if (!host.isConnected) return;  // closed meanwhile: Radix restored the body itself
      if (inert) body.style.pointerEvents = "none";
      if (!host.contains(document.activeElement)) host.focus();
    };
  }

  function withRoomForTheBank(confirmation) {
    var release = makeRoomForTheBank();
    return confirmation().then(
      function (result) { release(); return result; },
      function (error) { release(); throw error; }
    );
  }

  function confirm(clientSecret, name) {
    if (!state.stripe || !state.card) {
      return Promise.resolve({ error: "The card form is not ready yet. Please try again.", code: "not_ready" });
    }
    var details = name ? { name: name } : {};
    return withRoomForTheBank(function () {
      return state.stripe.confirmCardSetup(
        clientSecret, { payment_method: { card: state.card, billing_details: details } }
      );
    })
      .then(function (result) {
        if (result.error) {
          return { error: result.error.message, code: result.error.decline_code || result.error.code || "" };
        }
        return { ok: true, status: result.setupIntent.status };
      })
      .catch(function (error) { return { error: error.message || "The card could not be checked.", code: "" }; });
  }

  // Pay a PaymentIntent (a new subscription's first invoice) with the card typed into the form:
  // Stripe.js creates the card's PaymentMethod and asks the bank (3-D Secure) at most once.
  function confirmPayment(clientSecret, name) {
    if (!state.stripe || !state.card) {
      return Promise.resolve({ error: "The card form is not ready yet. Please try again.", code: "not_ready" });
    }
    var details = name ? { name: name } : {};
    return withRoomForTheBank(function () {
      return state.stripe.confirmCardPayment(
        clientSecret, { payment_method: { card: state.card, billing_details: details } }
      );
    })
      .then(function (result) {
        if (result.error) {
          return { error: result.error.message, code: result.error.decline_code || result.error.code || "" };
        }
        return { ok: true, status: result.paymentIntent.status };
      })
      .catch(function (error) { return { error: error.message || "The payment could not be confirmed.", code: "" }; });
  }

  function clear() { if (state.card) state.card.clear(); }

  window.clerkCard = { mount: mount, confirm: confirm, confirmPayment: confirmPayment, clear: clear };
})();
