/*
 * The portal's card form: Stripe.js Elements, loaded from STRIPE_JS_URL (Stripe's, or the demo
 * sandbox's stand-in). The card number goes from this page to Stripe only; the portal's backend
 * gets back nothing but "the SetupIntent succeeded" (or Stripe's error message).
 *
 *   await window.clerkCard.mount(stripeJsUrl, publishableKey, "#card-element")
 *   await window.clerkCard.confirm(clientSecret, cardholderName) -> {ok, status} | {error, code}
 *   await window.clerkCard.confirmPayment(paymentClientSecret)   -> {ok, status} | {error, code}
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

  function confirm(clientSecret, name) {
    if (!state.stripe || !state.card) {
      return Promise.resolve({ error: "The card form is not ready yet. Please try again.", code: "not_ready" });
    }
    var details = name ? { name: name } : {};
    return state.stripe
      .confirmCardSetup(clientSecret, { payment_method: { card: state.card, billing_details: details } })
      .then(function (result) {
        if (result.error) {
          return { error: result.error.message, code: result.error.decline_code || result.error.code || "" };
        }
        return { ok: true, status: result.setupIntent.status };
      })
      .catch(function (error) { return { error: error.message || "The card could not be checked.", code: "" }; });
  }

  // A payment the bank wants confirmed (3-D Secure) with the card already on the subscription.
  function confirmPayment(clientSecret) {
    if (!state.stripe) {
      return Promise.resolve({ error: "The card form is not ready yet. Please try again.", code: "not_ready" });
    }
    return state.stripe
      .confirmCardPayment(clientSecret)
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
