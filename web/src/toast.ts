import { reactive } from "vue";
import { errorWords } from "./api";

export interface Toast {
  id: number;
  kind: "error" | "ok";
  text: string;
}

export const toasts = reactive<Toast[]>([]);
let next = 1;

export function notify(text: string, kind: Toast["kind"] = "ok") {
  const id = next++;
  toasts.push({ id, kind, text });
  setTimeout(() => dismiss(id), kind === "error" ? 8000 : 3500);
}

export function fail(e: unknown) {
  notify(errorWords(e), "error");
}

export function dismiss(id: number) {
  const i = toasts.findIndex((t) => t.id === id);
  if (i >= 0) toasts.splice(i, 1);
}
