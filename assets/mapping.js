// Mapeamento: clicking a field of the raw body writes its path into the path box last focused
// (the event-name box first), and any change previews again without leaving the page. Without
// JavaScript the paths are typed and "Pré-visualizar" posts the form.
(() => {
  const form = document.getElementById("mapping-form");
  if (!form) return;
  let target = document.getElementById("event_field");
  form.addEventListener("focusin", (event) => {
    if (event.target.matches("input.path-target")) {
      target?.classList.remove("picking");
      target = event.target;
      target.classList.add("picking");
    }
  });

  let pending = null;
  const refresh = async () => {
    const button = form.querySelector("[data-testid=mapping-preview-button]");
    if (!button) return;
    const body = new URLSearchParams(new FormData(form));
    const response = await fetch(button.formAction, { method: "POST", body, credentials: "same-origin" });
    const html = await response.text();
    const next = new DOMParser().parseFromString(html, "text/html").getElementById("previa");
    const panel = document.getElementById("previa");
    if (next && panel) panel.innerHTML = next.innerHTML;
  };
  const schedule = () => {
    clearTimeout(pending);
    pending = setTimeout(refresh, 250);
  };
  form.addEventListener("change", schedule);

  document.querySelectorAll("button.tree-leaf[data-path]").forEach((leaf) => {
    leaf.addEventListener("click", () => {
      if (!target) return;
      target.value = leaf.dataset.path;
      target.dispatchEvent(new Event("change", { bubbles: true }));
      // The next empty path box becomes the target: click, click, click. The page must not
      // scroll to it: the tree stays under the merchant's pointer for the next click.
      const boxes = [...form.querySelectorAll("input.path-target")];
      const next = boxes.slice(boxes.indexOf(target) + 1).find((box) => !box.value);
      if (next) next.focus({ preventScroll: true });
    });
  });

  document.querySelectorAll("input[type=file][data-fills]").forEach((input) => {
    input.hidden = false;
    input.addEventListener("change", async () => {
      const file = input.files?.[0];
      const area = input.form?.querySelector(`textarea[name=${input.dataset.fills}]`);
      if (file && area) area.value = await file.text();
    });
  });
})();
