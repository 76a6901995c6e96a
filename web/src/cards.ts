// `v-cards` on a table: on a phone (see style.css) each row shows as a card, each value
// under its column's name, taken from the table's own headings.
import type { Directive } from "vue";

function label(table: HTMLTableElement) {
  table.classList.add("cards");
  const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent?.trim() ?? "");
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, i) => {
      const heading = headings[i] ?? "";
      if (cell.getAttribute("data-label") !== heading) cell.setAttribute("data-label", heading);
    });
  }
}

export const cards: Directive<HTMLTableElement> = { mounted: label, updated: label };
