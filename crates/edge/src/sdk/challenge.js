/* Rampart WAF application integration: `AwsWafIntegration`, the intelligent threat API of AWS
 * WAF's JavaScript integration, served by every Rampart proxy at
 * /.well-known/rampart-waf/challenge.js. It earns an `aws-waf-token` by answering the proxy's
 * silent challenge (a SHA-256 proof of work) and sends it with `AwsWafIntegration.fetch()` in the
 * `x-aws-waf-token` header, so single-page applications pass Challenge (and, after a CAPTCHA,
 * Captcha) rules without an interstitial page. */
(function () {
  "use strict";
  if (typeof window === "undefined" || window.AwsWafIntegration) {
    return;
  }
  var script = document.currentScript;
  var base = new URL(".", (script && script.src) || location.href).href;
  var token = null;
  var expires = 0;
  var pending = null;

  function remember(t) {
    token = t.token;
    expires = Date.now() + (t.ttl || 300) * 1000;
    return token;
  }

  function zeroBits(h) {
    var z = 0;
    for (var i = 0; i < h.length; i++) {
      if (h[i] === 0) {
        z += 8;
        continue;
      }
      z += Math.clz32(h[i]) - 24;
      break;
    }
    return z;
  }

  async function solve() {
    var r = await fetch(base + "inputs", { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) {
      throw new Error("AWS WAF challenge inputs: HTTP " + r.status);
    }
    var p = await r.json();
    var enc = new TextEncoder();
    var i = 0;
    for (;; i++) {
      var h = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(p.nonce + ":" + i)));
      if (zeroBits(h) >= p.bits) {
        break;
      }
    }
    var v = await fetch(base + "challenge", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: "nonce=" + encodeURIComponent(p.nonce) + "&counter=" + i,
    });
    if (!v.ok) {
      throw new Error("AWS WAF challenge: HTTP " + v.status);
    }
    return remember(await v.json());
  }

  async function stored() {
    var r = await fetch(base + "token", { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) {
      return null;
    }
    var t = await r.json();
    return t.token ? remember(t) : null;
  }

  function getToken() {
    if (token && Date.now() < expires) {
      return Promise.resolve(token);
    }
    if (!pending) {
      pending = stored()
        .then(function (t) {
          return t || solve();
        })
        .finally(function () {
          pending = null;
        });
    }
    return pending;
  }

  function hasToken() {
    return !!token && Date.now() < expires;
  }

  async function wafFetch(input, init) {
    var t = await getToken();
    var opts = Object.assign({}, init || {});
    var headers = new Headers(opts.headers || (input instanceof Request ? input.headers : undefined));
    headers.set("x-aws-waf-token", t);
    opts.headers = headers;
    return fetch(input, opts);
  }

  window.AwsWafIntegration = {
    getToken: getToken,
    hasToken: hasToken,
    fetch: wafFetch,
    forceRefreshToken: function () {
      token = null;
      return getToken();
    },
    // For the CAPTCHA API (jsapi.js) only.
    _base: base,
    _remember: remember,
  };
  // As AWS's script does, a token is acquired in the background when the page loads.
  getToken().catch(function () {});
})();
