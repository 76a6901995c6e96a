// Money per currency (its own minor units) and times in UTC, said so.
const moneyFormats = new Map<string, Intl.NumberFormat>();

export function money(value: string | number | null | undefined, currency: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const cur = (currency ?? "USD").toUpperCase();
  let f = moneyFormats.get(cur);
  if (!f) {
    try {
      f = new Intl.NumberFormat("en-US", { style: "currency", currency: cur });
    } catch {
      f = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2 });
    }
    moneyFormats.set(cur, f);
  }
  return f.format(Number(value));
}

export function num(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat("en-US").format(Number(value));
}

export function pct(value: number | string | null | undefined, digits = 1): string {
  if (value === null || value === undefined || value === "") return "—";
  return `${Number(value).toFixed(digits)} %`;
}

export function utc(value: string | null | undefined): string {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function day(value: string | null | undefined): string {
  if (!value) return "—";
  return new Date(value).toISOString().slice(0, 10);
}

export function statusClass(status: string): string {
  return `badge badge-${status.toLowerCase().replace(/_/g, "-")}`;
}

export function titleCase(value: string): string {
  return value.charAt(0) + value.slice(1).toLowerCase().replace(/_/g, " ");
}

/** The service's own reasons (stored in Spanish, as the seed systems had them) in words;
 * a reason a person typed is shown as typed. */
const REASONS: Record<string, string> = {
  "atribución revertida": "attribution reverted",
  "reembolso total (Stripe)": "fully refunded (Stripe)",
  "reembolso parcial (Stripe)": "partly refunded (Stripe)",
  "nota de crédito total (Stripe)": "fully credited (Stripe credit note)",
  "nota de crédito parcial (Stripe)": "partly credited (Stripe credit note)",
  "reembolso parcial (Stripe) anterior a la atribución": "partly refunded (Stripe) before attribution",
};
/** The states events carry (`estado`, in the seed systems' Spanish: data on the wire) in words. */
const STATES: Record<string, string> = {
  activo: "active", activa: "active", suspendido: "suspended", eliminado: "deleted", solicitado: "applied", rechazado: "rejected",
  borrador: "draft", pausada: "paused", finalizada: "ended",
  registrada: "recorded", atribuida: "attributed", sin_atribuir: "unattributed", en_revision: "held for review",
  revertida: "reverted", reembolsada: "refunded", rechazada: "rejected",
  pendiente: "pending", pagado: "paid", reembolsado_parcial: "partly refunded", reembolsado: "refunded",
  expirado: "expired", fallido: "failed", cancelado: "canceled",
  reservada: "reserved", calculada: "calculated", aprobada: "approved", pagada: "paid", cancelada: "canceled",
  estandar: "standard", premium: "premium", porcentual: "percentage", fijo: "flat",
};
export function stateWords(state: string): string {
  return STATES[state] ?? state;
}

export function reasonWords(reason: string | null | undefined): string {
  if (!reason) return "";
  return REASONS[reason] ?? reason;
}
