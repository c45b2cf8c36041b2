// Instâncias: follow each live state badge over server-sent events and swap in the new state's
// label and colour. Without JavaScript the page shows the state as of when it loaded.
(() => {
  const labels = {};
  document.querySelectorAll("[data-state-labels] [data-state]").forEach((span) => {
    labels[span.dataset.state] = { text: span.textContent, cls: span.dataset.class };
  });
  if (!window.EventSource) return;
  document.querySelectorAll("[data-events]").forEach((badge) => {
    const source = new EventSource(badge.dataset.events);
    source.onmessage = (event) => {
      let state;
      try { state = JSON.parse(event.data).state; } catch (_) { return; }
      const label = labels[state];
      if (!label || badge.dataset.state === state) return;
      badge.dataset.state = state;
      badge.textContent = label.text;
      badge.className = "badge " + label.cls;
    };
    // EventSource reconnects by itself after a dropped connection; nothing to do on error.
  });
})();
