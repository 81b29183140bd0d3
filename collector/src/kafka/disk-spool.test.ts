import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskSpool, SpoolLockedError } from './disk-spool.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spool-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('DiskSpool lock', () => {
  it('refuses a second writer while the first has the spool open, and lets it in after close', async () => {
    const first = new DiskSpool(dir, 1 << 20);
    await first.open();
    await first.append([{ k: 'a', v: 'one' }]);
    await expect(new DiskSpool(dir, 1 << 20).open()).rejects.toBeInstanceOf(SpoolLockedError);
    await first.close();
    const second = new DiskSpool(dir, 1 << 20);
    await second.open();
    expect((await second.oldest())?.records).toEqual([{ k: 'a', v: 'one' }]);
    await second.close();
  });

  it('takes over the lock of a process that died without closing (killed)', async () => {
    // A pid that surely exited: a child that has already been reaped.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(join(dir, 'lock'), String(dead));
    const spool = new DiskSpool(dir, 1 << 20);
    await spool.open();
    await spool.append([{ k: 'b', v: 'two' }]);
    expect(spool.isEmpty()).toBe(false);
    await spool.close();
  });
});
