import { ref, watch, computed, type Ref } from "vue";
import { useRoute, useRouter, type LocationQueryRaw } from "vue-router";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { gql, errorWords, afterForPage } from "./api";

export const PAGE_SIZE = 25;

/** The periods a report offers ready-made (the server also takes `2026-11`, `2026-01-01..2026-06-30`). */
export const PERIODS = [
  { value: "24h", label: "Last 24 hours" },
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "90d", label: "Last 90 days" },
  { value: "365d", label: "Last 12 months" },
];

/** Loads `doc` whenever its variables change; `vars` returning null waits. */
export function useQuery<R, V extends Record<string, unknown>>(doc: TypedDocumentNode<R, V>, vars: () => V | null) {
  const data = ref<R | null>(null) as Ref<R | null>;
  const loading = ref(true);
  const error = ref<string | null>(null);
  let seq = 0;
  async function reload() {
    const v = vars();
    if (v === null) return;
    const mine = ++seq;
    loading.value = true;
    error.value = null;
    try {
      const result = await gql(doc, v);
      if (mine === seq) data.value = result;
    } catch (e) {
      if (mine === seq) error.value = errorWords(e);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }
  watch(vars, reload, { immediate: true, deep: true });
  return { data, loading, error, reload };
}

/** Filters and the page live in the URL, so any view can be bookmarked and shared. */
export function useUrlState() {
  const route = useRoute();
  const router = useRouter();
  const q = computed(() => route.query as Record<string, string | undefined>);
  const page = computed(() => Math.max(1, Number(q.value.page ?? "1") || 1));
  function param(name: string): string | undefined {
    const v = q.value[name];
    return v === undefined || v === "" ? undefined : String(v);
  }
  function set(patch: Record<string, string | undefined | null>, resetPage = true) {
    const next: LocationQueryRaw = { ...route.query };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || v === null || v === "") delete next[k];
      else next[k] = v;
    }
    if (resetPage && !("page" in patch)) delete next.page;
    router.push({ query: next });
  }
  const window = computed(() => ({ first: PAGE_SIZE, after: afterForPage(page.value, PAGE_SIZE) }));
  return { q, page, param, set, window };
}

/** `YYYY-MM-DD` (a date input) → start of that UTC day as RFC 3339. */
export function dayStart(value: string | undefined): string | undefined {
  return value ? `${value}T00:00:00Z` : undefined;
}

/** `YYYY-MM-DD` → start of the next UTC day (an inclusive "to" date). */
export function dayEnd(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const d = new Date(`${value}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString();
}
