/**
 * How long an import keeps waiting for what it depends on (Kafka or a full spool, ClickHouse for
 * the ledger and salts) before it gives up, and how it waits: retries with backoff, the stream not
 * read meanwhile. Every wait a slow or restarting engine causes is covered; only one that lasts
 * `giveUpMs` ends the import, and a re-run then resumes it exactly.
 */
export type Persistence = {
  giveUpMs: number;
  /** Ctrl-C: stop waiting. */
  signal?: AbortSignal;
  /** A failure that retrying cannot mend (an invalid record): thrown at once. */
  isPermanent?: (error: unknown) => boolean;
  onRetry?: (what: string, attempt: number, error: unknown) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
};

/** The import waited `giveUpMs` (or was interrupted while waiting) for `what`. */
export class ImportStalledError extends Error {
  override name = 'ImportStalledError';
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    readonly lastError: unknown,
    readonly interrupted = false,
  ) {
    super(
      `${interrupted ? 'interrupted while waiting' : `gave up after waiting ${Math.round(waitedMs / 1000)} s`} for ${what}: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
    );
  }
}

const FIRST_BACKOFF_MS = 250;
const BACKOFF_CAP_MS = 5_000;
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `work` until it succeeds; failures wait with backoff, until they have lasted `giveUpMs`. */
export async function persist<T>(what: string, work: () => Promise<T>, p: Persistence): Promise<T> {
  const now = p.now ?? Date.now;
  const sleep = p.sleep ?? realSleep;
  const since = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (p.isPermanent?.(error)) throw error;
      const waited = now() - since;
      if (p.signal?.aborted) throw new ImportStalledError(what, waited, error, true);
      if (waited >= p.giveUpMs) throw new ImportStalledError(what, waited, error);
      p.onRetry?.(what, attempt, error);
      await sleep(Math.min(BACKOFF_CAP_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1), Math.max(1, p.giveUpMs - waited)));
    }
  }
}
