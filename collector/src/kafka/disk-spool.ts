import { mkdir, open, readdir, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** One spooled message: partition key and the encoded (already de-identified) envelope. */
export type SpoolRecord = { k: string; v: string };

export class SpoolFullError extends Error {
  override name = 'SpoolFullError';
}

/** Another live process has the spool open: two writers would append to and delete each other's segments. */
export class SpoolLockedError extends Error {
  override name = 'SpoolLockedError';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the spool ${dir} is in use by process ${pid}`);
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const SEGMENT_RE = /^(\d{16})\.spool$/;
const SEGMENT_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Append-only segment files of de-identified envelopes, bounded in total size. Appends
 * arriving together are written and fsynced as one group before any of them resolves,
 * so an acknowledged append survives a crash. Segments are replayed oldest first.
 */
export class DiskSpool {
  private total = 0;
  private reserved = 0;
  private nextSeq = 0;
  private current: { seq: number; fd: FileHandle; bytes: number } | null = null;
  private pending: Array<{ data: string; resolve: () => void; reject: (e: unknown) => void }> = [];
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Takes the spool's lock (a process that died, e.g. killed, leaves a stale one, which is taken over) and reads its segments. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.lock();
    for (const seq of await this.segments()) {
      this.total += (await stat(this.path(seq))).size;
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
  }

  get bytes(): number {
    return this.total + this.reserved;
  }

  isEmpty(): boolean {
    return this.bytes === 0;
  }

  /** Durably appends the records, or throws SpoolFullError without writing anything. */
  append(records: SpoolRecord[]): Promise<void> {
    const data = records.map((r) => `${JSON.stringify(r)}\n`).join('');
    const size = Buffer.byteLength(data);
    if (this.bytes + size > this.maxBytes) return Promise.reject(new SpoolFullError('spool is full'));
    this.reserved += size;
    return new Promise((resolve, reject) => {
      this.pending.push({ data, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.serial(() => this.commit());
      }
    });
  }

  /** The oldest segment's records (the segment being appended to is closed first), or null when empty. */
  oldest(): Promise<{ seq: number; records: SpoolRecord[] } | null> {
    return this.serial(async () => {
      const [seq] = await this.segments();
      if (seq === undefined) return null;
      if (this.current?.seq === seq) await this.rotate();
      const records: SpoolRecord[] = [];
      for (const line of (await readFile(this.path(seq), 'utf8')).split('\n')) {
        if (!line) continue;
        try {
          const r = JSON.parse(line) as SpoolRecord;
          if (typeof r.k === 'string' && typeof r.v === 'string') records.push(r);
        } catch {
          // A torn last line from a crash mid-write was never acknowledged: skip it.
        }
      }
      return { seq, records };
    });
  }

  /** Deletes a segment once every record in it is acknowledged by Kafka. */
  remove(seq: number): Promise<void> {
    return this.serial(async () => {
      const size = (await stat(this.path(seq))).size;
      await unlink(this.path(seq));
      this.total -= size;
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      await this.rotate();
      await unlink(this.lockPath()).catch(() => undefined);
    });
  }

  private lockPath(): string {
    return join(this.dir, 'lock');
  }

  private async lock(): Promise<void> {
    for (;;) {
      try {
        await writeFile(this.lockPath(), String(process.pid), { flag: 'wx', mode: 0o600 });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(await readFile(this.lockPath(), 'utf8').catch(() => ''));
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) throw new SpoolLockedError(this.dir, holder);
      await unlink(this.lockPath()).catch(() => undefined);
    }
  }

  private async commit(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const data = batch.map((b) => b.data).join('');
    const size = Buffer.byteLength(data);
    try {
      if (!this.current || this.current.bytes > SEGMENT_MAX_BYTES) {
        await this.rotate();
        const seq = this.nextSeq++;
        this.current = { seq, fd: await open(this.path(seq), 'a', 0o600), bytes: 0 };
      }
      await this.current.fd.write(data);
      await this.current.fd.datasync();
      this.current.bytes += size;
      this.total += size;
      batch.forEach((b) => b.resolve());
    } catch (error) {
      batch.forEach((b) => b.reject(error));
    } finally {
      this.reserved -= size;
    }
  }

  private async rotate(): Promise<void> {
    if (!this.current) return;
    await this.current.fd.close();
    this.current = null;
  }

  private async segments(): Promise<number[]> {
    return (await readdir(this.dir))
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private path(seq: number): string {
    return join(this.dir, `${String(seq).padStart(16, '0')}.spool`);
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.chain.then(op);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
