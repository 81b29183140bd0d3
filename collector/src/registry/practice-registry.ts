import type { Logger, Practice } from '@confidant/shared';

/** What the registry reads; `PracticeStore` in production. */
export interface PracticeSource {
  list(): Promise<Practice[]>;
  revision(): Promise<string>;
}

/**
 * In-memory lookup of practices by site key and by domain, refreshed from the store on
 * an interval so new practices and rule changes apply without a restart. Requests never
 * wait on ClickHouse; a failed refresh keeps the last good view.
 */
export class PracticeRegistry {
  private bySiteKey = new Map<string, Practice>();
  private byDomain = new Map<string, Practice>();
  private revision: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastChange = 0;

  constructor(
    private readonly source: PracticeSource,
    private readonly logger: Logger,
  ) {}

  async refresh(): Promise<void> {
    const revision = await this.source.revision();
    if (revision === this.revision) return;
    const practices = await this.source.list();
    this.bySiteKey = new Map(practices.map((p) => [p.siteKey, p]));
    this.byDomain = new Map(practices.flatMap((p) => p.domains.map((d) => [d, p] as const)));
    this.lastChange = Math.max(0, ...practices.map((p) => p.updatedAt));
    this.revision = revision;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'practice registry refresh failed; keeping the last view'),
      );
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** False until the first load succeeded (e.g. a start while PostgreSQL is away). */
  loaded(): boolean {
    return this.revision !== null;
  }

  bySite(siteKey: string): Practice | null {
    return this.bySiteKey.get(siteKey) ?? null;
  }

  /** The practice registered for a host name, also matching `www.` and other subdomains. */
  forDomain(host: string): Practice | null {
    let h = host.toLowerCase().replace(/\.$/, '');
    for (;;) {
      const p = this.byDomain.get(h);
      if (p) return p;
      const dot = h.indexOf('.');
      if (dot < 0) return null;
      h = h.slice(dot + 1);
    }
  }

  /** Epoch ms of the latest practice configuration change. */
  lastChangedAt(): number {
    return this.lastChange;
  }
}
