// avisa console: small progressive enhancements. Every page works without JavaScript.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy[data-copy]");
  if (!button) return;
  const original = button.textContent;
  try {
    await navigator.clipboard.writeText(button.dataset.copy);
    button.textContent = document.documentElement.lang === "en" ? "Copied!" : "Copiado!";
  } catch (_) {
    const code = button.parentElement.querySelector(".copyable");
    if (code) window.getSelection().selectAllChildren(code);
  }
  setTimeout(() => { button.textContent = original; }, 1500);
});

// New-store form: name the secret field after what the chosen platform offers (token, signing
// key, nothing, or a signature avisa cannot check). Without JavaScript the generic label and hint stay.
document.querySelectorAll("form[data-secret-form]").forEach((form) => {
  const select = form.querySelector("select[name=platform]");
  const input = form.querySelector("[data-secret-input]");
  const update = () => {
    const kind = select.selectedOptions[0]?.dataset.secret || "any";
    form.querySelectorAll("[data-secret-part]").forEach((part) => {
      part.hidden = part.dataset.secretPart !== kind;
    });
    const offered = kind !== "none" && kind !== "unchecked";
    input.hidden = !offered;
    input.disabled = !offered;
  };
  select.addEventListener("change", update);
  update();
});
