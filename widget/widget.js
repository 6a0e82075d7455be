/*!
 * Assistant des services publics: chat widget for partner sites.
 * Embed: <script src="https://HOST/widget.js" data-partner="mairie-de-gap" defer></script>
 * Options (data-*): partner, title, accent-color, position (right|left), open (true|false),
 * storage (session|local), server (Rasa base URL; defaults to the portal's configuration).
 * Plain JavaScript, no dependency. Message content is rendered with text nodes only.
 */
(function () {
  "use strict";

  if (window.__aspChatWidget) return;
  window.__aspChatWidget = true;

  // The portal replaces the next token with its configuration when it serves this file.
  var SERVER_CONFIG = /*__ASP_CONFIG__*/ null;

  var SENDER_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;
  var PARTNER_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
  var URL_RE = /https?:\/\/[^\s<>"'«»]+/g;
  var TRAILING_RE = /[.,;:!?)\]}]+$/;
  var DEFAULT_ACCENT = "#000091";
  var MAX_KEPT = 200;
  var TIMEOUT_MS = 30000;
  var GREETING = "/greet";

  var T = {
    launcher: "Une question ?",
    title: "Assistant des services publics",
    subtitle: "Assistant automatique",
    close: "Fermer l'assistant",
    log: "Historique de la conversation",
    you: "Vous : ",
    bot: "L'assistant : ",
    typing: "L'assistant écrit…",
    label: "Votre message",
    placeholder: "Écrivez votre question…",
    send: "Envoyer",
    clear: "Effacer la conversation",
    cleared: "La conversation a été effacée.",
    note: "N'indiquez pas d'informations personnelles.",
    newWindow: " (nouvelle fenêtre)",
    suggestions: "Réponses proposées",
    voteGroup: "Cette réponse vous a-t-elle aidé ?",
    voteLabel: "Réponse utile ?",
    voteUp: "Oui, cette réponse m'a aidé",
    voteDown: "Non, cette réponse ne m'a pas aidé",
    voteThanks: "Merci pour votre avis.",
    voteFailed: "Votre avis n'a pas pu être envoyé.",
    unreachable:
      "Le service ne répond pas pour le moment. Votre message n'a pas été envoyé : vous pouvez réessayer.",
    refused: "Votre message n'a pas pu être traité. Vous pouvez le reformuler et réessayer.",
    tooFast:
      "Vous avez envoyé beaucoup de messages en peu de temps. Patientez une minute, puis réessayez.",
    retry: "Réessayer",
    misconfigured: "L'assistant n'est pas disponible sur ce site pour le moment.",
  };

  var CSS =
    ":host{all:initial}" +
    ".w{--a:#000091;font-family:Marianne,arial,'Helvetica Neue',Helvetica,sans-serif;font-size:max(16px,1rem);line-height:1.5;color:#161616;text-align:left}" +
    ".w *,.w *::before,.w *::after{box-sizing:border-box}" +
    ".sr{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}" +
    "button{font:inherit;cursor:pointer}" +
    "button:focus-visible,a:focus-visible,textarea:focus-visible,.log:focus-visible{outline:2px solid #0a76f6;outline-offset:2px}" +
    "svg{width:1.25em;height:1.25em;flex:none;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}" +
    ".launcher{position:fixed;bottom:1rem;right:1rem;z-index:2147483000;display:inline-flex;align-items:center;gap:.5rem;min-height:3rem;max-width:calc(100vw - 2rem);padding:.75rem 1.25rem;border:0;border-radius:1.5rem;background:var(--a);color:#fff;font-weight:700;box-shadow:0 6px 18px rgba(0,0,18,.28)}" +
    ".launcher:hover{text-decoration:underline}" +
    ".left .launcher{right:auto;left:1rem}" +
    ".panel{position:fixed;bottom:5.5rem;right:1rem;z-index:2147483001;display:flex;flex-direction:column;width:25rem;max-width:calc(100vw - 2rem);height:38rem;max-height:calc(100vh - 7rem);background:#fff;border:1px solid #929292;box-shadow:0 8px 28px rgba(0,0,18,.3);overflow:hidden}" +
    ".left .panel{right:auto;left:1rem}" +
    ".panel[hidden]{display:none}" +
    "@media (max-width:30em),(max-height:34em){.w .panel,.w.left .panel{top:0;right:0;bottom:0;left:0;width:auto;height:auto;max-width:none;max-height:none;border:0}}" +
    ".head{display:flex;align-items:center;gap:.5rem;padding:.25rem .25rem .25rem 1rem;background:var(--a);color:#fff}" +
    ".head div{flex:1;min-width:0}" +
    ".head h2{margin:0;font-size:1.125rem;line-height:1.3;font-weight:700;overflow-wrap:anywhere}" +
    ".head p{margin:0;font-size:.875rem}" +
    ".icon{display:inline-flex;align-items:center;justify-content:center;min-width:2.75rem;min-height:2.75rem;padding:.5rem;border:0;background:transparent;color:inherit}" +
    ".head .icon:focus-visible{outline-color:#fff;outline-offset:-4px}" +
    ".log{flex:1;min-height:5rem;overflow-y:auto;padding:1rem 1rem .5rem}" +
    ".msg{display:flex;flex-direction:column;align-items:flex-start;margin:0 0 .75rem}" +
    ".user{align-items:flex-end}" +
    ".bubble{max-width:90%;margin:0;padding:.5rem .75rem;white-space:pre-line;overflow-wrap:anywhere;border-radius:.25rem}" +
    ".user .bubble{background:var(--a);color:#fff}" +
    ".bot .bubble{background:#eee;color:#161616}" +
    ".bubble a{color:var(--a);text-decoration:underline}" +
    ".quick{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.5rem}" +
    ".qr{min-height:2.75rem;padding:.5rem .75rem;border:1px solid var(--a);background:#fff;color:var(--a);text-align:left}" +
    ".qr:hover{background:#f5f5fe;text-decoration:underline}" +
    ".vote{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem;margin-top:.25rem;color:#666;font-size:.875rem}" +
    ".vote .icon{min-width:2.5rem;min-height:2.5rem;border:1px solid transparent;color:#3a3a3a}" +
    ".vote .icon[aria-pressed=true]{border-color:var(--a);color:var(--a);background:#f5f5fe}" +
    ".down svg{transform:rotate(180deg)}" +
    ".typing{display:flex;align-items:center;gap:.5rem;padding:0 1rem .5rem;color:#3a3a3a;font-size:.875rem}" +
    ".typing[hidden],.error[hidden]{display:none}" +
    ".dots span{display:inline-block;width:.5rem;height:.5rem;margin-right:.2rem;border-radius:50%;background:#666;animation:aspb 1.2s infinite ease-in-out}" +
    ".dots span:nth-child(2){animation-delay:.2s}.dots span:nth-child(3){animation-delay:.4s}" +
    "@keyframes aspb{0%,80%,100%{opacity:.25}40%{opacity:1}}" +
    ".error{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin:0 1rem .5rem;padding:.5rem .75rem;border-left:4px solid #ce0500;background:#ffe9e9}" +
    ".error p{flex:1 1 12rem;margin:0}" +
    ".retry{min-height:2.75rem;padding:.5rem 1rem;border:1px solid #000091;background:#fff;color:#000091;font-weight:700}" +
    ".form{display:flex;align-items:flex-end;gap:.5rem;padding:.75rem 1rem .25rem;border-top:1px solid #ddd}" +
    ".form textarea{flex:1;min-width:0;min-height:2.75rem;max-height:8rem;margin:0;padding:.5rem .75rem;border:0;border-bottom:2px solid #3a3a3a;border-radius:.25rem .25rem 0 0;background:#eee;color:#161616;font:inherit;resize:none}" +
    ".form textarea::placeholder{color:#666;opacity:1}" +
    ".send{display:inline-flex;align-items:center;gap:.25rem;min-height:2.75rem;padding:.5rem 1rem;border:0;background:var(--a);color:#fff;font-weight:700}" +
    ".foot{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:0 .75rem;padding:0 1rem .25rem;color:#666;font-size:.8125rem}" +
    ".foot p{margin:0}" +
    ".link{min-height:2.75rem;padding:0;border:0;background:none;color:var(--a);text-decoration:underline}" +
    "@media (prefers-reduced-motion:reduce){.w *{animation:none!important;transition:none!important;scroll-behavior:auto!important}.dots span{opacity:.7}}" +
    "@media (forced-colors:active){.launcher,.panel,.bubble,.qr,.send{border:1px solid CanvasText}}";

  var ICONS = {
    chat: "M4 5h16v11H9l-5 4z",
    close: "M6 6l12 12M18 6L6 18",
    thumb:
      "M7 11v9H4v-9zM7 11l4-7c1.6 0 2.6 1.1 2.2 2.7L12.6 10H19a2 2 0 0 1 2 2.3l-1.2 6A2 2 0 0 1 17.8 20H7",
    send: "M4 12l16-8-6 16-2-7z",
  };

  // ------------------------------------------------------------------ small helpers

  function el(tag, props, children) {
    var node = document.createElement(tag);
    var key;
    for (key in props || {}) {
      if (!Object.prototype.hasOwnProperty.call(props, key)) continue;
      if (key === "text") node.textContent = props[key];
      else if (key === "className") node.className = props[key];
      else node.setAttribute(key, props[key]);
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    var path = document.createElementNS(ns, "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function safeUrl(raw) {
    try {
      var url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  /** Append `text` to `parent` as text nodes, http(s) URLs as links; never parses HTML. */
  function appendRichText(parent, text) {
    var last = 0;
    text.replace(URL_RE, function (match, offset) {
      var candidate = match.replace(TRAILING_RE, "");
      var href = safeUrl(candidate);
      if (!href) return match;
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      parent.appendChild(
        el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, [
          candidate,
          el("span", { className: "sr", text: T.newWindow }),
        ]),
      );
      last = offset + candidate.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return (
      "w-" +
      Array.prototype.map
        .call(bytes, function (b) {
          return (b < 16 ? "0" : "") + b.toString(16);
        })
        .join("")
    );
  }

  function luminance(hex) {
    var rgb = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  }

  /** The partner's accent colour if it keeps AA contrast with white text, else the default. */
  function accentColor(raw) {
    var value = (raw || "").trim().toLowerCase();
    if (/^#[0-9a-f]{3}$/.test(value)) {
      value = "#" + value[1] + value[1] + value[2] + value[2] + value[3] + value[3];
    }
    if (!/^#[0-9a-f]{6}$/.test(value)) return DEFAULT_ACCENT;
    if (1.05 / (luminance(value) + 0.05) < 5) {
      if (window.console) console.warn("widget.js: data-accent-color too light, default used.");
      return DEFAULT_ACCENT;
    }
    return value;
  }

  function openStorage(kind) {
    try {
      var storage = kind === "local" ? window.localStorage : window.sessionStorage;
      storage.setItem("__asp_probe", "1");
      storage.removeItem("__asp_probe");
      return storage;
    } catch (err) {
      return null; // storage disabled: the conversation lives in memory only
    }
  }

  function postJson(url, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller
      ? setTimeout(function () {
          controller.abort();
        }, TIMEOUT_MS)
      : null;
    return fetch(url, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined,
    }).then(
      function (reply) {
        clearTimeout(timer);
        return reply;
      },
      function (err) {
        clearTimeout(timer);
        throw err;
      },
    );
  }

  // ------------------------------------------------------------------ configuration

  function findScript() {
    return (
      document.currentScript ||
      document.querySelector('script[src*="widget.js"][data-partner]') ||
      document.querySelector('script[src*="widget.js"]')
    );
  }

  function readOptions(script) {
    var data = (script && script.dataset) || {};
    var base = script && script.src ? new URL(script.src, location.href) : new URL(location.href);
    var partner = (data.partner || "").trim();
    if (partner && !PARTNER_RE.test(partner)) {
      if (window.console) console.warn("widget.js: invalid data-partner ignored.");
      partner = "";
    }
    return {
      partner: partner,
      title: (data.title || "").trim() || T.title,
      accent: accentColor(data.accentColor),
      left: (data.position || "").trim().toLowerCase() === "left",
      open: (data.open || "").trim().toLowerCase() === "true",
      storage: (data.storage || "").trim().toLowerCase() === "local" ? "local" : "session",
      server: data.server ? safeUrl(data.server) : null,
      origin: base.origin,
      nonce: script ? script.nonce || script.getAttribute("nonce") || "" : "",
    };
  }

  /** Resolve the webhook and feedback URLs: data-server, injected config, or config.json. */
  function resolveEndpoints(options) {
    var fromServer = SERVER_CONFIG
      ? Promise.resolve(SERVER_CONFIG)
      : fetch(options.origin + "/widget/config.json", { credentials: "omit" }).then(
          function (reply) {
            if (!reply.ok) throw new Error("config " + reply.status);
            return reply.json();
          },
        );
    return fromServer
      .catch(function () {
        return {};
      })
      .then(function (config) {
        var webhook = options.server
          ? options.server.replace(/\/+$/, "") + "/webhooks/rest/webhook"
          : safeUrl(config.webhookUrl || "");
        return {
          webhook: webhook,
          feedback: safeUrl(config.feedbackUrl || "") || options.origin + "/api/feedback/answer",
          maxChars: config.maxMessageChars > 0 ? config.maxMessageChars : 2000,
        };
      });
  }

  // ------------------------------------------------------------------ the widget

  function Widget(options) {
    this.options = options;
    this.storage = openStorage(options.storage);
    this.key = "asp-chat:v1:" + (options.partner || "default");
    this.state = this.load();
    this.busy = false;
    this.pending = null;
    this.endpoints = null;
    this.build();
    this.renderLog();
    if (this.state.open === true || (this.state.open === null && options.open)) this.open(true);
  }

  Widget.prototype.load = function () {
    var fresh = { sender: randomId(), next: 0, open: null, messages: [] };
    var raw;
    try {
      raw = this.storage && JSON.parse(this.storage.getItem(this.key) || "null");
    } catch (err) {
      raw = null;
    }
    if (!raw || typeof raw.sender !== "string" || !SENDER_RE.test(raw.sender)) return fresh;
    var messages = (Array.isArray(raw.messages) ? raw.messages : [])
      .filter(function (m) {
        return m && (m.role === "user" || m.role === "bot") && typeof m.text === "string";
      })
      .map(function (m) {
        return {
          role: m.role,
          text: m.text,
          n: typeof m.n === "number" ? m.n : 0,
          vote: m.vote === "up" || m.vote === "down" ? m.vote : null,
          buttons: (Array.isArray(m.buttons) ? m.buttons : []).filter(function (b) {
            return b && typeof b.title === "string" && typeof b.payload === "string";
          }),
        };
      });
    return {
      sender: raw.sender,
      next: typeof raw.next === "number" ? raw.next : messages.length,
      open: typeof raw.open === "boolean" ? raw.open : null,
      messages: messages.slice(-MAX_KEPT),
    };
  };

  Widget.prototype.save = function () {
    if (!this.storage) return;
    this.state.messages = this.state.messages.slice(-MAX_KEPT);
    try {
      this.storage.setItem(this.key, JSON.stringify(this.state));
    } catch (err) {
      /* quota exceeded: keep going in memory */
    }
  };

  Widget.prototype.build = function () {
    var self = this;
    var o = this.options;
    this.host = el("div", { id: "asp-chat-widget" });
    var root = (this.root = this.host.attachShadow({ mode: "open" }));
    var style = el("style", o.nonce ? { nonce: o.nonce } : {});
    style.textContent = CSS;
    root.appendChild(style);

    var wrap = el("div", { className: "w" + (o.left ? " left" : "") });
    wrap.style.setProperty("--a", o.accent);

    this.launcher = el(
      "button",
      {
        type: "button",
        className: "launcher",
        "aria-haspopup": "dialog",
        "aria-expanded": "false",
        "aria-controls": "asp-panel",
      },
      [icon("chat"), el("span", { text: T.launcher })],
    );

    this.closeButton = el("button", { type: "button", className: "icon", title: T.close }, [
      icon("close"),
      el("span", { className: "sr", text: T.close }),
    ]);
    var head = el("div", { className: "head" }, [
      el("div", {}, [
        el("h2", { id: "asp-title", text: o.title }),
        el("p", { text: T.subtitle }),
      ]),
      this.closeButton,
    ]);

    this.log = el("div", {
      className: "log",
      role: "region",
      tabindex: "0",
      "aria-label": T.log,
    });
    this.announcer = el("div", { className: "sr", "aria-live": "polite", "aria-atomic": "false" });
    this.typing = el("div", { className: "typing", hidden: "" }, [
      el("span", { className: "dots", "aria-hidden": "true" }, [
        el("span"),
        el("span"),
        el("span"),
      ]),
      el("span", { text: T.typing }),
    ]);
    this.errorText = el("p");
    this.retryButton = el("button", { type: "button", className: "retry", text: T.retry });
    this.error = el("div", { className: "error", role: "alert", hidden: "" }, [
      this.errorText,
      this.retryButton,
    ]);

    this.input = el("textarea", {
      id: "asp-input",
      rows: "2",
      placeholder: T.placeholder,
      autocomplete: "off",
      "aria-describedby": "asp-note",
    });
    this.sendButton = el("button", { type: "submit", className: "send" }, [
      el("span", { text: T.send }),
      icon("send"),
    ]);
    this.form = el("form", { className: "form", novalidate: "" }, [
      el("label", { for: "asp-input", className: "sr", text: T.label }),
      this.input,
      this.sendButton,
    ]);
    this.clearButton = el("button", { type: "button", className: "link", text: T.clear });
    var foot = el("div", { className: "foot" }, [
      el("p", { id: "asp-note", text: T.note }),
      this.clearButton,
    ]);

    this.panel = el(
      "div",
      {
        id: "asp-panel",
        className: "panel",
        role: "dialog",
        "aria-modal": "true",
        "aria-labelledby": "asp-title",
        hidden: "",
      },
      [head, this.log, this.announcer, this.typing, this.error, this.form, foot],
    );
    wrap.appendChild(this.launcher);
    wrap.appendChild(this.panel);
    root.appendChild(wrap);

    this.launcher.addEventListener("click", function () {
      if (self.isOpen()) self.close(true);
      else self.open(true);
    });
    this.closeButton.addEventListener("click", function () {
      self.close(true);
    });
    this.clearButton.addEventListener("click", function () {
      self.clear();
    });
    this.retryButton.addEventListener("click", function () {
      self.retry();
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.submitTyped();
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.submitTyped();
      }
    });
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        self.close(true);
      } else if (event.key === "Tab") {
        self.trapFocus(event);
      }
    });
    document.body.appendChild(this.host);
  };

  Widget.prototype.isOpen = function () {
    return !this.panel.hasAttribute("hidden");
  };

  Widget.prototype.open = function (focus) {
    this.panel.removeAttribute("hidden");
    this.launcher.setAttribute("aria-expanded", "true");
    this.state.open = true;
    this.save();
    this.scrollDown();
    if (focus) this.input.focus();
    if (!this.state.messages.length && !this.busy) this.send(GREETING, null);
  };

  Widget.prototype.close = function (focus) {
    this.panel.setAttribute("hidden", "");
    this.launcher.setAttribute("aria-expanded", "false");
    this.state.open = false;
    this.save();
    if (focus) this.launcher.focus();
  };

  Widget.prototype.focusables = function () {
    var nodes = this.panel.querySelectorAll(
      'a[href],button:not([disabled]),textarea,[tabindex]:not([tabindex="-1"])',
    );
    return Array.prototype.filter.call(nodes, function (node) {
      return node.getClientRects().length > 0;
    });
  };

  Widget.prototype.trapFocus = function (event) {
    var items = this.focusables();
    if (!items.length) return;
    var first = items[0];
    var last = items[items.length - 1];
    var active = this.root.activeElement;
    if (event.shiftKey && (active === first || items.indexOf(active) < 0)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || items.indexOf(active) < 0)) {
      event.preventDefault();
      first.focus();
    }
  };

  Widget.prototype.scrollDown = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  Widget.prototype.announce = function (text) {
    this.announcer.appendChild(el("p", { text: text }));
    while (this.announcer.childNodes.length > 3) this.announcer.removeChild(this.announcer.firstChild);
  };

  // -------------------------------------------------------------- rendering

  Widget.prototype.renderLog = function () {
    var messages = this.state.messages;
    var lastUser = -1;
    var i;
    this.log.textContent = "";
    for (i = 0; i < messages.length; i++) if (messages[i].role === "user") lastUser = i;
    for (i = 0; i < messages.length; i++) {
      var row = this.renderMessage(messages[i], i > lastUser);
      var next = messages[i + 1];
      if (messages[i].role === "bot" && (!next || next.role !== "bot")) this.addVote(row, messages[i]);
    }
    this.scrollDown();
  };

  Widget.prototype.renderMessage = function (message, withButtons) {
    var self = this;
    var bubble = el("p", { className: "bubble" }, [
      el("span", { className: "sr", text: message.role === "user" ? T.you : T.bot }),
    ]);
    if (message.role === "bot") appendRichText(bubble, message.text);
    else bubble.appendChild(document.createTextNode(message.text));
    var row = el("div", { className: "msg " + message.role }, message.text ? [bubble] : []);
    if (withButtons && message.buttons && message.buttons.length) {
      var group = el("div", { className: "quick", role: "group", "aria-label": T.suggestions });
      message.buttons.forEach(function (button) {
        var node = el("button", { type: "button", className: "qr", text: button.title });
        node.addEventListener("click", function () {
          self.send(button.payload, button.title);
        });
        group.appendChild(node);
      });
      row.appendChild(group);
    }
    this.log.appendChild(row);
    return row;
  };

  Widget.prototype.addVote = function (row, message) {
    var self = this;
    var status = el("span", { role: "status" });
    var buttons = [];
    var group = el("div", { className: "vote", role: "group", "aria-label": T.voteGroup }, [
      el("span", { "aria-hidden": "true", text: T.voteLabel }),
    ]);
    [
      ["up", T.voteUp, "icon"],
      ["down", T.voteDown, "icon down"],
    ].forEach(function (spec) {
      var button = el(
        "button",
        {
          type: "button",
          className: spec[2],
          title: spec[1],
          "aria-pressed": message.vote === spec[0] ? "true" : "false",
        },
        [icon("thumb"), el("span", { className: "sr", text: spec[1] })],
      );
      button.addEventListener("click", function () {
        self.vote(message, spec[0], buttons, status);
      });
      buttons.push(button);
      group.appendChild(button);
    });
    group.appendChild(status);
    row.appendChild(group);
  };

  Widget.prototype.vote = function (message, value, buttons, status) {
    var self = this;
    message.vote = value;
    buttons[0].setAttribute("aria-pressed", value === "up" ? "true" : "false");
    buttons[1].setAttribute("aria-pressed", value === "down" ? "true" : "false");
    this.save();
    this.ready()
      .then(function (endpoints) {
        return postJson(endpoints.feedback, {
          sender: self.state.sender,
          index: message.n,
          vote: value,
          partner: self.options.partner || null,
        });
      })
      .then(function (reply) {
        status.textContent = reply.ok ? T.voteThanks : T.voteFailed;
      })
      .catch(function () {
        status.textContent = T.voteFailed;
      });
  };

  Widget.prototype.removeQuickReplies = function () {
    var groups = this.log.querySelectorAll(".quick");
    Array.prototype.forEach.call(groups, function (node) {
      node.parentNode.removeChild(node);
    });
  };

  // -------------------------------------------------------------- conversation

  Widget.prototype.ready = function () {
    if (!this.endpoints) this.endpoints = resolveEndpoints(this.options);
    return this.endpoints;
  };

  Widget.prototype.submitTyped = function () {
    var text = this.input.value.trim();
    if (!text || this.busy) return;
    this.send(text, text, true);
  };

  Widget.prototype.retry = function () {
    var pending = this.pending;
    if (!pending) return;
    this.input.focus(); // the retry button disappears with the error
    if (pending.typed) this.submitTyped();
    else this.send(pending.text, pending.shown);
  };

  /**
   * Send `text` to the assistant. `shown` is what the usager sees as their message (a button's
   * title for a quick reply; null for the silent greeting). `typed`: the text came from the input.
   */
  Widget.prototype.send = function (text, shown, typed) {
    var self = this;
    if (this.busy) return;
    this.busy = true;
    this.pending = { text: text, shown: shown, typed: !!typed };
    // A clicked quick reply is about to disappear: keep the focus inside the dialog.
    if (this.log.contains(this.root.activeElement) && this.isOpen()) this.input.focus();
    this.hideError();
    var userMessage = null;
    var userRow = null;
    if (shown !== null) {
      userMessage = { role: "user", text: shown, n: this.state.next++, vote: null, buttons: [] };
      this.state.messages.push(userMessage);
      this.removeQuickReplies();
      userRow = this.renderMessage(userMessage, false);
      this.questionRow = userRow;
      if (typed) this.input.value = "";
    }
    this.typing.removeAttribute("hidden");
    this.scrollDown();
    var sender = this.state.sender;
    this.ready()
      .then(function (endpoints) {
        if (!endpoints.webhook) throw new Error("misconfigured");
        if (text.length > endpoints.maxChars) text = text.slice(0, endpoints.maxChars);
        return postJson(endpoints.webhook, {
          sender: sender,
          message: text,
          metadata: self.options.partner ? { partner: self.options.partner } : {},
        });
      })
      .then(function (reply) {
        if (!reply.ok) {
          var err = new Error("status " + reply.status);
          err.status = reply.status;
          throw err;
        }
        return reply.json();
      })
      .then(function (answers) {
        if (sender !== self.state.sender) return; // the conversation was cleared meanwhile
        self.pending = null;
        self.receive(Array.isArray(answers) ? answers : []);
      })
      .catch(function (err) {
        if (sender !== self.state.sender) return;
        if (userMessage) {
          self.state.messages.splice(self.state.messages.indexOf(userMessage), 1);
          if (userRow && userRow.parentNode) userRow.parentNode.removeChild(userRow);
          if (typed && !self.input.value) self.input.value = shown;
        }
        if (!self.log.querySelector(".quick")) self.renderLog(); // offer the last choices again
        var message = T.unreachable;
        if (err && err.message === "misconfigured") message = T.misconfigured;
        else if (err && err.status === 429) message = T.tooFast;
        else if (err && err.status >= 400 && err.status < 500) message = T.refused;
        self.showError(message);
      })
      .then(function () {
        if (sender !== self.state.sender) return;
        self.busy = false;
        self.typing.setAttribute("hidden", "");
        self.save();
      });
  };

  Widget.prototype.receive = function (answers) {
    var self = this;
    var firstRow = null;
    var lastRow = null;
    var lastMessage = null;
    answers.forEach(function (answer) {
      if (!answer || typeof answer !== "object") return;
      var text = typeof answer.text === "string" ? answer.text : "";
      var buttons = (Array.isArray(answer.buttons) ? answer.buttons : [])
        .filter(function (b) {
          return b && typeof b.title === "string" && typeof b.payload === "string";
        })
        .map(function (b) {
          return { title: b.title, payload: b.payload };
        });
      if (!text && !buttons.length) return;
      var message = { role: "bot", text: text, n: self.state.next++, vote: null, buttons: buttons };
      self.state.messages.push(message);
      lastRow = self.renderMessage(message, true);
      firstRow = firstRow || lastRow;
      lastMessage = message;
      if (text) self.announce(T.bot + text);
    });
    if (lastRow) this.addVote(lastRow, lastMessage);
    this.scrollTo(this.questionRow && this.questionRow.parentNode ? this.questionRow : firstRow);
    this.questionRow = null;
  };

  /** Show a long answer from its start (with the question above it), not from its end. */
  Widget.prototype.scrollTo = function (row) {
    if (!row) return;
    var offset = row.getBoundingClientRect().top - this.log.getBoundingClientRect().top;
    this.log.scrollTop = Math.min(this.log.scrollTop + offset - 8, this.log.scrollHeight);
  };

  Widget.prototype.showError = function (message) {
    this.errorText.textContent = message;
    this.error.removeAttribute("hidden");
    this.scrollDown();
  };

  Widget.prototype.hideError = function () {
    this.error.setAttribute("hidden", "");
    this.errorText.textContent = "";
  };

  Widget.prototype.clear = function () {
    this.state = { sender: randomId(), next: 0, open: true, messages: [] };
    this.busy = false;
    this.pending = null;
    this.hideError();
    this.typing.setAttribute("hidden", "");
    this.input.value = "";
    this.log.textContent = "";
    this.save();
    this.announce(T.cleared);
    this.input.focus();
    this.send(GREETING, null);
  };

  // ------------------------------------------------------------------ start

  function start() {
    new Widget(readOptions(SCRIPT)); // eslint-disable-line no-new
  }

  var SCRIPT = findScript();
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
