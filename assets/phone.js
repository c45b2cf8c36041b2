// avisa console: on a phone, list tables show each row as a card (phone.css); this names each
// cell after its column ("Situação", "Previsto para", …) so a card reads without the header row.
// Without JavaScript the cards still show, unlabelled.
document.querySelectorAll(".table-wrap > table").forEach((table) => {
  const heads = Array.from(table.querySelectorAll(":scope > thead > tr > th")).map((th) =>
    th.querySelector(".sr-only") ? "" : th.textContent.trim());
  if (!heads.some((h) => h)) return;
  table.querySelectorAll(":scope > tbody > tr").forEach((row) => {
    Array.from(row.children).forEach((cell, i) => {
      if (heads[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[i]);
    });
  });
});
