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
