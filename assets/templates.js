// Templates editor: insert a variable where the cursor was, confirm a reset, preview again when
// another sample is picked, and open the chosen store's list. Without JavaScript every button
// still works through the server (add/remove go through the preview form post).
(() => {
  let lastField = null;
  document.addEventListener("focusin", (event) => {
    if (event.target.matches("#template-form textarea")) lastField = event.target;
  });

  document.querySelectorAll("button.insert[data-insert]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = button.dataset.insert;
      const field = lastField || document.querySelector("#template-form textarea");
      if (field) {
        const start = field.selectionStart ?? field.value.length;
        const end = field.selectionEnd ?? start;
        field.setRangeText(text, start, end, "end");
        field.focus();
        field.dispatchEvent(new Event("input", { bubbles: true }));
        return;
      }
      try { await navigator.clipboard.writeText(text); } catch (_) { /* the code stays visible */ }
    });
  });

  document.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });

  const sample = document.querySelector("select[data-autopreview]");
  if (sample) {
    sample.addEventListener("change", () => {
      document.querySelector("#template-form [data-testid=preview]")?.click();
    });
  }

  const store = document.querySelector("select[data-autosubmit]");
  if (store) store.addEventListener("change", () => store.form.submit());
})();
