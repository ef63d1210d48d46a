/* Rampart WAF CAPTCHA integration: `AwsWafCaptcha.renderCaptcha(container, configuration)`, the
 * CAPTCHA JavaScript API of AWS WAF, served (after the intelligent threat API it builds on) at
 * /.well-known/rampart-waf/jsapi.js. The puzzle comes from the proxy only for an API key
 * (CreateAPIKey) naming the page's domain; a correct answer earns an `aws-waf-token` with a
 * CAPTCHA time, handed to `onSuccess` and used by `AwsWafIntegration.fetch()`. */
(function () {
  "use strict";
  if (typeof window === "undefined" || window.AwsWafCaptcha) {
    return;
  }
  var base = window.AwsWafIntegration._base;

  function captchaError(kind, message, statusCode) {
    var e = new Error(message);
    e.name = "CaptchaError";
    e.kind = kind;
    if (statusCode) {
      e.statusCode = statusCode;
    }
    return e;
  }

  function form(fields) {
    return Object.keys(fields)
      .map(function (k) {
        return encodeURIComponent(k) + "=" + encodeURIComponent(fields[k]);
      })
      .join("&");
  }

  function renderCaptcha(container, cfg) {
    if (!container || !cfg || !cfg.apiKey || typeof cfg.onSuccess !== "function") {
      throw captchaError("client_error", "renderCaptcha needs a container, an apiKey and onSuccess.");
    }
    var fail = function (e) {
      if (typeof cfg.onError === "function") {
        cfg.onError(e);
      }
    };
    var timer = null;

    async function load() {
      var r;
      try {
        r = await fetch(base + "captcha/problem?" + form({ api_key: cfg.apiKey }), {
          credentials: "same-origin",
          cache: "no-store",
        });
      } catch (e) {
        return fail(captchaError("network_error", String(e)));
      }
      if (r.status === 403) {
        return fail(captchaError("client_error", "The API key does not cover this domain.", 403));
      }
      if (!r.ok) {
        return fail(captchaError("network_error", "HTTP " + r.status, r.status));
      }
      show(await r.json());
    }

    function show(p) {
      container.innerHTML =
        (cfg.skipTitle ? "" : "<p>Type the characters you see.</p>") +
        p.svg +
        '<form><input name="answer" autocomplete="off" aria-label="characters"> <button type="submit">Verify</button></form>';
      if (cfg.dynamicWidth && container.style) {
        container.style.maxWidth = "100%";
      }
      var f = container.querySelector("form");
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (typeof cfg.onPuzzleTimeout === "function") {
          cfg.onPuzzleTimeout();
        }
        load();
      }, (p.ttl || 600) * 1000);
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        clearTimeout(timer);
        verify(p.nonce, f.querySelector("input").value);
      });
      if (typeof cfg.onLoad === "function") {
        cfg.onLoad();
      }
    }

    async function verify(nonce, answer) {
      var r;
      try {
        r = await fetch(base + "captcha/verify", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
          body: form({ api_key: cfg.apiKey, nonce: nonce, answer: answer }),
        });
      } catch (e) {
        return fail(captchaError("network_error", String(e)));
      }
      if (r.status === 405) {
        if (typeof cfg.onPuzzleIncorrect === "function") {
          cfg.onPuzzleIncorrect();
        }
        return load();
      }
      if (!r.ok) {
        return fail(captchaError(r.status === 403 ? "client_error" : "token_error", "HTTP " + r.status, r.status));
      }
      var t = await r.json();
      window.AwsWafIntegration._remember(t);
      if (typeof cfg.onPuzzleCorrect === "function") {
        cfg.onPuzzleCorrect();
      }
      cfg.onSuccess(t.token);
    }

    load();
  }

  window.AwsWafCaptcha = { renderCaptcha: renderCaptcha };
})();
