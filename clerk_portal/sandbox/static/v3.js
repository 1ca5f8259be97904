/*
 * Stripe.js stand-in served by the clerk_portal Stripe sandbox at /v3.
 *
 * It exposes the part of Stripe.js that the portal's card form uses: Stripe(publishableKey),
 * elements() with a mountable card element, createPaymentMethod, confirmCardSetup, confirmSetup,
 * confirmCardPayment, confirmPayment, retrieveSetupIntent, retrievePaymentIntent, handleCardAction.
 * Card numbers typed into the element go only to the sandbox (this script's own origin), never
 * to the page's backend, exactly as with real Stripe. 3-D Secure shows an in-page test dialog at the
 * end of <body> (Esc fails it, as closing Stripe's does).
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var ORIGIN = script && script.src ? new URL(script.src, window.location.href).origin : "";

  // -- HTTP ------------------------------------------------------------------------------------

  function encode(value, prefix, out) {
    out = out || [];
    if (value === null || value === undefined) return out;
    if (Array.isArray(value)) {
      value.forEach(function (v, i) { encode(v, prefix + "[" + i + "]", out); });
    } else if (typeof value === "object") {
      Object.keys(value).forEach(function (k) {
        encode(value[k], prefix ? prefix + "[" + k + "]" : k, out);
      });
    } else {
      out.push(encodeURIComponent(prefix) + "=" + encodeURIComponent(String(value)));
    }
    return out;
  }

  function request(key, method, path, params) {
    var body = encode(params || {}, "").join("&");
    var url = ORIGIN + path + (method === "GET" && body ? "?" + body : "");
    return fetch(url, {
      method: method,
      headers: {
        Authorization: "Bearer " + key,
        "Content-Type": "application/x-www-form-urlencoded"
      },
      body: method === "GET" ? undefined : body
    }).then(function (response) {
      return response.json().then(function (json) {
        if (response.ok) return { ok: true, body: json };
        return { ok: false, error: json.error || { type: "api_error", message: "Request failed" } };
      });
    }, function (err) {
      return { ok: false, error: { type: "api_connection_error", message: String(err) } };
    });
  }

  function control(path, params) {
    return fetch(ORIGIN + path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: encode(params, "").join("&")
    }).then(function (r) { return r.json(); });
  }

  function intentId(clientSecret) {
    return String(clientSecret || "").split("_secret_")[0];
  }

  // -- card data -------------------------------------------------------------------------------

  function digits(text) { return String(text || "").replace(/\D/g, ""); }

  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = parseInt(number.charAt(number.length - 1 - i), 10);
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return number.length >= 12 && sum % 10 === 0;
  }

  function brandOf(number) {
    if (/^4/.test(number)) return "visa";
    if (/^3[47]/.test(number)) return "amex";
    if (/^(5[1-5]|2[2-7])/.test(number)) return "mastercard";
    if (/^6/.test(number)) return "discover";
    return "unknown";
  }

  function formatNumber(number) {
    if (brandOf(number) === "amex") {
      return [number.slice(0, 4), number.slice(4, 10), number.slice(10, 15)].filter(Boolean).join(" ");
    }
    return (number.slice(0, 19).match(/.{1,4}/g) || []).join(" ");
  }

  function formatExpiry(text) {
    var d = digits(text).slice(0, 4);
    if (d.length === 1 && d > "1") d = "0" + d;
    return d.length > 2 ? d.slice(0, 2) + " / " + d.slice(2) : d;
  }

  // -- the card element ------------------------------------------------------------------------

  function validationError(code, message) {
    return { type: "validation_error", code: code, message: message };
  }

  function CardElement(type, options) {
    this.elementType = type;
    this.options = options || {};
    this.handlers = {};
    this.container = null;
    this.inputs = null;
  }

  CardElement.prototype.on = function (event, handler) {
    (this.handlers[event] = this.handlers[event] || []).push(handler);
    return this;
  };
  CardElement.prototype.off = function (event, handler) {
    this.handlers[event] = (this.handlers[event] || []).filter(function (h) { return h !== handler; });
    return this;
  };
  CardElement.prototype._emit = function (event, payload) {
    (this.handlers[event] || []).forEach(function (h) { h(payload); });
  };

  CardElement.prototype._input = function (label, placeholder, autocomplete, width) {
    var input = document.createElement("input");
    input.setAttribute("aria-label", label);
    input.setAttribute("placeholder", placeholder);
    input.setAttribute("autocomplete", autocomplete);
    input.setAttribute("inputmode", "numeric");
    input.type = "text";
    input.style.cssText = "border:0;outline:0;font:inherit;background:transparent;min-width:0;flex:" + width;
    return input;
  };

  CardElement.prototype.mount = function (target) {
    var node = typeof target === "string" ? document.querySelector(target) : target;
    if (!node) throw new Error("Stripe sandbox: cannot mount the card element on " + target);
    this.unmount();
    var self = this;
    var wrapper = document.createElement("div");
    wrapper.className = "SandboxCardElement";
    wrapper.setAttribute("data-sandbox-element", this.elementType);
    wrapper.style.cssText = "display:flex;gap:8px;align-items:center;padding:8px;" +
      "border:1px solid #d0d5dd;border-radius:6px;background:#fff;font-size:15px";
    var inputs = {
      number: this._input("Card number", "1234 1234 1234 1234", "cc-number", "3"),
      expiry: this._input("Expiration date", "MM / YY", "cc-exp", "1.2"),
      cvc: this._input("CVC", "CVC", "cc-csc", "0.8")
    };
    if (!this.options.hidePostalCode) {
      inputs.postal = this._input("ZIP", "ZIP", "postal-code", "1");
      inputs.postal.setAttribute("inputmode", "text");
    }
    Object.keys(inputs).forEach(function (name) {
      var input = inputs[name];
      wrapper.appendChild(input);
      input.addEventListener("input", function () { self._format(name); self._changed(); });
      input.addEventListener("focus", function () { self._emit("focus", { elementType: self.elementType }); });
      input.addEventListener("blur", function () { self._emit("blur", { elementType: self.elementType }); });
    });
    node.appendChild(wrapper);
    this.container = wrapper;
    this.inputs = inputs;
    setTimeout(function () { self._emit("ready", { elementType: self.elementType }); }, 0);
    return this;
  };

  CardElement.prototype._format = function (name) {
    var input = this.inputs[name];
    if (name === "number") input.value = formatNumber(digits(input.value));
    if (name === "expiry") input.value = formatExpiry(input.value);
    if (name === "cvc") input.value = digits(input.value).slice(0, 4);
  };

  CardElement.prototype._state = function () {
    var inputs = this.inputs;
    if (!inputs) return { empty: true, complete: false, error: validationError("incomplete_number", "Your card number is incomplete.") };
    var number = digits(inputs.number.value);
    var exp = digits(inputs.expiry.value);
    var cvc = digits(inputs.cvc.value);
    var brand = brandOf(number);
    var empty = !number && !exp && !cvc;
    var error = null;
    var maxLength = brand === "amex" ? 15 : 16;
    if (number.length < maxLength) {
      error = validationError("incomplete_number", "Your card number is incomplete.");
    } else if (!luhn(number)) {
      error = validationError("invalid_number", "Your card number is invalid.");
    } else if (exp.length < 4) {
      error = validationError("incomplete_expiry", "Your card's expiration date is incomplete.");
    } else {
      var month = parseInt(exp.slice(0, 2), 10);
      var year = 2000 + parseInt(exp.slice(2), 10);
      var now = new Date();
      if (month < 1 || month > 12) {
        error = validationError("invalid_expiry_month", "Your card's expiration month is invalid.");
      } else if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
        error = validationError("invalid_expiry_year_past", "Your card's expiration year is in the past.");
      } else if (cvc.length < (brand === "amex" ? 4 : 3)) {
        error = validationError("incomplete_cvc", "Your card's security code is incomplete.");
      } else if (inputs.postal && !inputs.postal.value.trim()) {
        error = validationError("incomplete_zip", "Your postal code is incomplete.");
      }
    }
    return { empty: empty, complete: !error, brand: brand, error: error };
  };

  CardElement.prototype._changed = function () {
    var state = this._state();
    // like Stripe, "incomplete" errors are only reported once the field is left or submitted
    var shown = state.error && state.error.code.indexOf("incomplete") === 0 ? undefined : state.error || undefined;
    this._emit("change", {
      elementType: this.elementType,
      empty: state.empty,
      complete: state.complete,
      brand: state.brand,
      value: this.inputs && this.inputs.postal ? { postalCode: this.inputs.postal.value } : {},
      error: shown
    });
  };

  CardElement.prototype._cardParams = function () {
    var state = this._state();
    if (state.error) return { error: state.error };
    var exp = digits(this.inputs.expiry.value);
    return {
      card: {
        number: digits(this.inputs.number.value),
        exp_month: parseInt(exp.slice(0, 2), 10),
        exp_year: 2000 + parseInt(exp.slice(2), 10),
        cvc: digits(this.inputs.cvc.value)
      },
      postalCode: this.inputs.postal ? this.inputs.postal.value.trim() : null
    };
  };

  CardElement.prototype.clear = function () {
    var inputs = this.inputs || {};
    Object.keys(inputs).forEach(function (k) { inputs[k].value = ""; });
    if (this.inputs) this._changed();
  };
  CardElement.prototype.focus = function () { if (this.inputs) this.inputs.number.focus(); };
  CardElement.prototype.blur = function () { if (this.inputs) this.inputs.number.blur(); };
  CardElement.prototype.update = function (options) {
    for (var k in options) this.options[k] = options[k];
  };
  CardElement.prototype.unmount = function () {
    if (this.container && this.container.parentNode) this.container.parentNode.removeChild(this.container);
    this.container = null;
    this.inputs = null;
  };
  CardElement.prototype.destroy = function () { this.unmount(); this.handlers = {}; };

  function Elements(options) {
    this.options = options || {};
    this.created = {};
  }
  Elements.prototype.create = function (type, options) {
    if (["card", "payment", "cardNumber"].indexOf(type) < 0) {
      throw new Error("Stripe sandbox: unsupported element type " + type);
    }
    var element = new CardElement(type, options);
    this.created[type] = element;
    return element;
  };
  Elements.prototype.getElement = function (type) { return this.created[type] || null; };
  Elements.prototype.update = function (options) { for (var k in options) this.options[k] = options[k]; };
  Elements.prototype.fetchUpdates = function () { return Promise.resolve({}); };
  Elements.prototype.submit = function () {
    var element = this.created.payment || this.created.card;
    var params = element ? element._cardParams() : { error: validationError("incomplete", "Missing card element.") };
    return Promise.resolve(params.error ? { error: params.error } : {});
  };
  Elements.prototype._card = function () { return this.created.payment || this.created.card || this.created.cardNumber; };

  // -- 3-D Secure test dialog ------------------------------------------------------------------

  // Drawn at the end of <body> like Stripe's own (an iframe there), outside any dialog of the
  // page. It takes the focus; Esc closes it, which fails the authentication, as closing
  // Stripe's does.
  function challenge(id) {
    return new Promise(function (resolve) {
      var overlay = document.createElement("div");
      overlay.setAttribute("data-sandbox-3ds", id);
      overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:2147483647;" +
        "display:flex;align-items:center;justify-content:center;font-family:sans-serif";
      var dialog = document.createElement("div");
      dialog.setAttribute("role", "dialog");
      dialog.setAttribute("aria-modal", "true");
      dialog.setAttribute("aria-label", "3D Secure authentication");
      // Styled in full here: the page's own CSS reset (Radix's) strips headings and buttons.
      dialog.style.cssText = "background:#fff;color:#111;border-radius:10px;max-width:380px;" +
        "width:calc(100% - 32px);overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.3);text-align:left";
      dialog.innerHTML =
        "<div style='background:#0f2a4a;color:#fff;padding:12px 20px;font-size:13px;letter-spacing:.02em'>" +
        "Test Bank &middot; Secure verification</div>" +
        "<div style='padding:20px 20px 8px'>" +
        "<h2 style='margin:0 0 8px;font-size:18px;font-weight:600;line-height:1.3'>3D Secure 2 test page</h2>" +
        "<p style='margin:0;font-size:14px;line-height:1.5;color:#444'>This is a sandbox test " +
        "authentication: no bank is asked. Choose the outcome.</p></div>";
      var actions = document.createElement("div");
      actions.style.cssText = "display:flex;flex-direction:column;gap:8px;padding:12px 20px 20px";
      var answered = false;
      function answer(outcome) {
        if (answered) return;
        answered = true;
        window.removeEventListener("keydown", onKey, true);
        if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
        control("/_sandbox/authenticate/" + id, { outcome: outcome }).then(function () { resolve(outcome); }, function () { resolve(outcome); });
      }
      function onKey(event) {
        if (event.key === "Escape") { event.preventDefault(); answer("fail"); }
      }
      function button(label, outcome) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = label;
        b.style.cssText = "padding:10px 16px;font-size:15px;font-weight:600;border-radius:6px;cursor:pointer;" +
          (outcome === "complete" ? "background:#1d4ed8;color:#fff;border:1px solid #1d4ed8"
                                  : "background:#fff;color:#1e293b;border:1px solid #94a3b8");
        b.addEventListener("click", function () { answer(outcome); });
        return b;
      }
      var complete = button("Complete authentication", "complete");
      actions.appendChild(complete);
      actions.appendChild(button("Fail authentication", "fail"));
      dialog.appendChild(actions);
      overlay.appendChild(dialog);
      document.body.appendChild(overlay);
      window.addEventListener("keydown", onKey, true);
      complete.focus();
    });
  }

  // -- Stripe(publishableKey) ------------------------------------------------------------------

  function StripeSandbox(key, options) {
    if (!(this instanceof StripeSandbox)) return new StripeSandbox(key, options);
    if (!key || String(key).indexOf("pk_test_") !== 0) {
      throw new Error("Stripe sandbox: a pk_test_ publishable key is required.");
    }
    this._key = key;
    this._options = options || {};
  }

  StripeSandbox.prototype.elements = function (options) { return new Elements(options); };

  StripeSandbox.prototype._paymentMethod = function (card, billingDetails) {
    if (typeof card === "string") return Promise.resolve({ id: card });
    var params = card && card._cardParams ? card._cardParams() : { error: validationError("incomplete_number", "Your card number is incomplete.") };
    if (params.error) return Promise.resolve({ error: params.error });
    var details = billingDetails || {};
    if (params.postalCode) {
      details = JSON.parse(JSON.stringify(details));
      details.address = details.address || {};
      if (!details.address.postal_code) details.address.postal_code = params.postalCode;
    }
    return request(this._key, "POST", "/v1/payment_methods", {
      type: "card", card: params.card, billing_details: details
    }).then(function (r) { return r.ok ? r.body : { error: r.error }; });
  };

  StripeSandbox.prototype.createPaymentMethod = function (data) {
    data = data || {};
    var card = data.card || (data.elements && data.elements._card());
    var billing = data.billing_details || (data.params && data.params.billing_details);
    return this._paymentMethod(card, billing).then(function (pm) {
      return pm.error ? { error: pm.error } : { paymentMethod: pm };
    });
  };

  StripeSandbox.prototype._finish = function (kind, id, clientSecret, intent) {
    var self = this;
    var path = kind === "setup" ? "/v1/setup_intents/" : "/v1/payment_intents/";
    var field = kind === "setup" ? "setupIntent" : "paymentIntent";
    function done(latest) {
      var result = {};
      if (latest.status === "succeeded" || latest.status === "processing" || latest.status === "requires_capture") {
        result[field] = latest;
        return result;
      }
      var error = latest.last_setup_error || latest.last_payment_error ||
        { type: "invalid_request_error", message: "The intent is " + latest.status + "." };
      result.error = error;
      result.error[field] = latest;
      return result;
    }
    if (intent.status !== "requires_action") return Promise.resolve(done(intent));
    return challenge(id).then(function () {
      return request(self._key, "GET", path + id, { client_secret: clientSecret });
    }).then(function (r) { return r.ok ? done(r.body) : { error: r.error }; });
  };

  StripeSandbox.prototype._confirm = function (kind, clientSecret, paymentMethod, billing) {
    var self = this;
    var id = intentId(clientSecret);
    var path = (kind === "setup" ? "/v1/setup_intents/" : "/v1/payment_intents/") + id;
    var pmPromise = paymentMethod ? this._paymentMethod(paymentMethod, billing) : Promise.resolve(null);
    return pmPromise.then(function (pm) {
      if (pm && pm.error) return { error: pm.error };
      var params = { client_secret: clientSecret };
      if (pm) params.payment_method = pm.id;
      return request(self._key, "POST", path + "/confirm", params).then(function (r) {
        return r.ok ? self._finish(kind, id, clientSecret, r.body) : { error: r.error };
      });
    });
  };

  function methodFrom(data) {
    var pm = data && data.payment_method;
    if (!pm) return { card: null, billing: null };
    if (typeof pm === "string") return { card: pm, billing: null };
    return { card: pm.card, billing: pm.billing_details };
  }

  StripeSandbox.prototype.confirmCardSetup = function (clientSecret, data) {
    var m = methodFrom(data);
    return this._confirm("setup", clientSecret, m.card, m.billing);
  };

  StripeSandbox.prototype.confirmSetup = function (options) {
    options = options || {};
    var elements = options.elements;
    var params = options.confirmParams || {};
    var card = params.payment_method || (elements && elements._card());
    var billing = params.payment_method_data && params.payment_method_data.billing_details;
    var secret = options.clientSecret || (elements && elements.options.clientSecret);
    return this._confirm("setup", secret, card, billing);
  };

  StripeSandbox.prototype.confirmCardPayment = function (clientSecret, data) {
    var m = methodFrom(data);
    return this._confirm("payment", clientSecret, m.card, m.billing);
  };

  StripeSandbox.prototype.confirmPayment = function (options) {
    options = options || {};
    var elements = options.elements;
    var params = options.confirmParams || {};
    var card = params.payment_method || (elements && elements._card());
    var billing = params.payment_method_data && params.payment_method_data.billing_details;
    var secret = options.clientSecret || (elements && elements.options.clientSecret);
    return this._confirm("payment", secret, card, billing);
  };

  StripeSandbox.prototype.handleCardAction = function (clientSecret) {
    var self = this;
    var id = intentId(clientSecret);
    var kind = id.indexOf("seti_") === 0 ? "setup" : "payment";
    var path = (kind === "setup" ? "/v1/setup_intents/" : "/v1/payment_intents/") + id;
    return request(this._key, "GET", path, { client_secret: clientSecret }).then(function (r) {
      return r.ok ? self._finish(kind, id, clientSecret, r.body) : { error: r.error };
    });
  };
  StripeSandbox.prototype.handleNextAction = function (options) {
    return this.handleCardAction(options && options.clientSecret);
  };

  StripeSandbox.prototype.retrieveSetupIntent = function (clientSecret) {
    return request(this._key, "GET", "/v1/setup_intents/" + intentId(clientSecret), { client_secret: clientSecret })
      .then(function (r) { return r.ok ? { setupIntent: r.body } : { error: r.error }; });
  };
  StripeSandbox.prototype.retrievePaymentIntent = function (clientSecret) {
    return request(this._key, "GET", "/v1/payment_intents/" + intentId(clientSecret), { client_secret: clientSecret })
      .then(function (r) { return r.ok ? { paymentIntent: r.body } : { error: r.error }; });
  };

  StripeSandbox.version = 3;
  StripeSandbox.sandbox = true;
  window.Stripe = StripeSandbox;
})();
