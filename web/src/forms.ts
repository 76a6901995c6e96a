// What a form shows when the server refuses it: every wrong field beside itself, a
// summary that links to each, and "Try again" when the connection (not the input) failed.
import { computed, reactive, ref, watch } from "vue";
import { useRoute } from "vue-router";
import { ApiError, errorWords, type Problem } from "./api";

export interface FormErrors {
  /** Every wrong input, as the server named it. */
  problems: Problem[];
  /** The sentence above the submit button, or null when all is well. */
  summary: string | null;
  /** The failure was the connection or the server: the same submit may work again. */
  retryable: boolean;
  clear(): void;
  take(e: unknown): void;
  /** The message for a field, by the API's path (`commissionConfig.baseRate`). */
  of(path: string): string | undefined;
  /** Whether a field is wrong (its `invalid` class). */
  bad(path: string): boolean;
  /** A send in progress (the submit button waits). */
  busy: boolean;
  /** Sends the form: clears what was said, runs `send`, takes what the server refused. */
  send(send: () => Promise<void>): Promise<void>;
}

export function useFormErrors(): FormErrors {
  const errors: FormErrors = reactive({
    problems: [] as Problem[],
    summary: null as string | null,
    retryable: false,
    clear() {
      errors.problems = [];
      errors.summary = null;
      errors.retryable = false;
    },
    take(e: unknown) {
      errors.problems = e instanceof ApiError ? e.problems : [];
      errors.retryable = e instanceof ApiError && e.retryable;
      const n = errors.problems.length;
      errors.summary = n > 1 ? `Please check the form: ${n} fields need attention.` : errorWords(e);
    },
    of(path: string) {
      return errors.problems.find((p) => p.field === path)?.message;
    },
    bad(path: string) {
      return errors.of(path) !== undefined;
    },
    busy: false,
    async send(send: () => Promise<void>) {
      errors.busy = true;
      errors.clear();
      try {
        await send();
      } catch (e) {
        errors.take(e);
      } finally {
        errors.busy = false;
      }
    },
  });
  return errors;
}

/** A form's fields by the API's path: the input's id (where the summary links) and label. */
export type FormFields = Record<string, { id: string; label: string }>;

/** An edit form's record (`/…/:id/edit`), loaded before the form shows: typing into a form
 * that the load then fills would lose what was typed. Its failure is said like a refusal. */
export function useRecordLoad(errors: FormErrors, load: (id: string) => Promise<void>) {
  const route = useRoute();
  const loadedFor = ref<string | null>(null);
  const ready = computed(() => typeof route.params.id !== "string" || loadedFor.value === route.params.id);
  async function reload() {
    const id = route.params.id;
    if (typeof id !== "string") return;
    await errors.send(async () => {
      await load(id);
      loadedFor.value = id;
    });
  }
  watch(() => route.params.id, reload, { immediate: true });
  return { ready, reload };
}
