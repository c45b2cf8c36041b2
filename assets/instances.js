// Instâncias: follow each live state badge over server-sent events and swap in the new state's
// label and colour; on an instance's page, also drive the pairing panel (QR with a countdown,
// pairing code, expired QR, number and name, ban, pair again). Without JavaScript the page shows
// the state as of when it loaded.
(() => {
  const labels = {};
  document.querySelectorAll("[data-state-labels] [data-state]").forEach((span) => {
    labels[span.dataset.state] = { text: span.textContent, cls: span.dataset.class };
  });
  if (!window.EventSource) return;

  const panel = document.querySelector("[data-pairing]");
  const paneFor = {
    waiting_for_qr: "qr", waiting_for_code: "code", pairing_expired: "expired",
    connected: "connected", temporarily_banned: "banned", logged_out: "again", replaced: "again",
    failed: "failed",
  };
  const startShown = ["disconnected", "pairing_expired", "logged_out", "replaced", "temporarily_banned", "failed"];
  // Attempts in progress: the Cancelar button shows beside them.
  const cancelShown = ["connecting", "reconnecting", "waiting_for_qr", "waiting_for_code"];
  let timer = null;

  // Seconds left until each visible countdown's expiry, every second.
  const tick = () => {
    if (!panel) return;
    panel.querySelectorAll("[data-countdown]").forEach((el) => {
      const expires = Number(el.dataset.expires);
      if (!expires || el.closest("[hidden]")) { el.textContent = ""; return; }
      const left = Math.max(0, Math.round(expires - Date.now() / 1000));
      el.textContent = panel.dataset.countdownText.replace("{s}", left);
    });
  };

  const showPairing = (data) => {
    if (!panel) return;
    const state = data.state;
    const pane = paneFor[state];
    panel.querySelectorAll("[data-pane]").forEach((el) => {
      const name = el.dataset.pane;
      if (name === "start") el.hidden = !startShown.includes(state);
      else if (name === "connecting") el.hidden = !cancelShown.includes(state);
      else el.hidden = name !== pane;
    });
    panel.querySelectorAll("[data-connecting-note]").forEach((el) => {
      el.hidden = state !== "connecting" && state !== "reconnecting";
    });
    if (state === "failed") {
      const reason = panel.querySelector("[data-fail-reason]");
      const text = panel.querySelector(`[data-reason-text="${data.reason}"]`);
      if (reason) reason.textContent = text ? text.textContent : (data.detail || "");
    }
    panel.querySelectorAll("[data-again]").forEach((el) => { el.hidden = el.dataset.again !== state; });
    const connect = panel.querySelector("[data-connect-label]");
    if (connect) {
      connect.textContent = state === "pairing_expired" ? connect.dataset.renewLabel
        : state === "failed" ? connect.dataset.retryLabel : connect.dataset.connectLabel;
    }
    if (state === "waiting_for_qr" && data.qr_svg) {
      const box = panel.querySelector("[data-qr]");
      // The SVG is drawn by avisa's server from the QR payload; nothing the buyer typed.
      if (box && box.dataset.payloadSvg !== data.qr_svg) {
        box.innerHTML = data.qr_svg;
        box.dataset.payloadSvg = data.qr_svg;
      }
    }
    if (state === "waiting_for_code" && data.code) {
      const code = panel.querySelector("[data-code]");
      if (code) code.textContent = data.code.length === 8 ? data.code.slice(0, 4) + "-" + data.code.slice(4) : data.code;
    }
    if (data.expires_at) {
      panel.querySelectorAll("[data-countdown]").forEach((el) => { el.dataset.expires = data.expires_at; });
    }
    if (state === "temporarily_banned") {
      const reason = panel.querySelector("[data-ban-reason]");
      const until = panel.querySelector("[data-ban-until]");
      if (reason) reason.textContent = data.reason || "";
      if (until && data.until) {
        until.textContent = new Date(data.until * 1000).toLocaleString(panel.dataset.lang || "pt-BR", {
          timeZone: "America/Sao_Paulo", dateStyle: "short", timeStyle: "short",
        });
      }
    }
    const paired = document.querySelector("[data-paired]");
    if (paired) {
      paired.hidden = state !== "connected";
      if (state === "connected") {
        paired.querySelector("[data-number]").textContent = data.number || "";
        paired.querySelector("[data-name]").textContent = data.name || "";
      }
    }
    tick();
    if (!timer) timer = setInterval(tick, 1000);
  };

  document.querySelectorAll("[data-events]").forEach((badge) => {
    const source = new EventSource(badge.dataset.events);
    source.onmessage = (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (_) { return; }
      const state = data.state;
      showPairing(data);
      const label = labels[state];
      if (!label || badge.dataset.state === state) return;
      badge.dataset.state = state;
      badge.textContent = label.text;
      badge.className = "badge " + label.cls;
    };
    // EventSource reconnects by itself after a dropped connection; nothing to do on error.
  });
})();
