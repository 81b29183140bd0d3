import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { serveStatus, Supervisor, type ServiceSpec } from '../../infra/stack/supervisor.ts';
import { freePort } from '../support/processor-harness.ts';
import { eventually } from '../support/stack.ts';

/**
 * One child crash-loops next to a healthy one: the healthy child is never stopped or restarted,
 * the crashing one is restarted with growing delays and named by the status endpoint, and once
 * the cause is gone it comes back and the status turns 200.
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/flaky-server.mjs', import.meta.url));
const dir = mkdtempSync(`${tmpdir()}/confidant-supervisor-`);
const crashFlag = `${dir}/crash`;
const runs = (name: string) => readFileSync(`${dir}/${name}.runs`, 'utf8').trim().split('\n').filter(Boolean);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function spec(name: string, flag?: string): Promise<ServiceSpec> {
  const port = await freePort();
  return {
    name,
    command: process.execPath,
    args: [FIXTURE, String(port), `${dir}/${name}.runs`, ...(flag ? [flag] : [])],
    env: { PATH: process.env.PATH },
    cwd: dir,
    logFile: `${dir}/${name}.log`,
    readyUrl: `http://127.0.0.1:${port}/`,
  };
}

let supervisor: Supervisor | null = null;
let status: Awaited<ReturnType<typeof serveStatus>> | null = null;
afterAll(async () => {
  await supervisor?.stop(2000);
  status?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('stack supervisor', () => {
  it('restarts a crash-looping child with growing delays, never touches the healthy one, and reports both', async () => {
    writeFileSync(crashFlag, '');
    const lines: string[] = [];
    // Short delays keep the test quick; the default policy's numbers are covered by backoff.test.ts.
    supervisor = new Supervisor([await spec('healthy'), await spec('crasher', crashFlag)], (line) => lines.push(line), {
      initialMs: 100,
      maxMs: 800,
      stableMs: 60_000,
    });
    status = await serveStatus(supervisor, 0);
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${status!.port}/readyz`);
      return {
        code: res.status,
        body: (await res.json()) as Record<string, unknown> & {
          services: Record<string, { state: string; pid: number | null; restarts: number }>;
        },
      };
    };
    supervisor.start();

    const healthyUp = await eventually(
      () => readyz(),
      (r) => r.body.services.healthy?.state === 'up',
      30_000,
      'healthy child up',
    );
    const healthyPid = healthyUp.body.services.healthy!.pid!;
    expect(alive(healthyPid)).toBe(true);

    // Six failures in a row: the announced delays double up to the cap.
    await eventually(
      async () => lines.filter((l) => l.includes('crasher exited')).length,
      (n) => n >= 6,
      60_000,
      'six crasher exits',
    );
    const delays = lines
      .filter((l) => l.includes('crasher exited'))
      .slice(0, 6)
      .map((l) => Number(/next retry in ([\d.]+) s/.exec(l)?.[1]));
    expect(delays).toEqual([0.1, 0.2, 0.4, 0.8, 0.8, 0.8]);
    expect(lines[0]).toMatch(
      /crasher exited \(exit code 1\), failure 1 in a row; next retry in 0\.1 s\. Log: .*crasher\.log/,
    );
    expect(runs('crasher').length).toBeGreaterThanOrEqual(6);

    const failing = await readyz();
    expect(failing.code).toBe(503);
    expect(failing.body).toMatchObject({ error: { code: 'unavailable' }, failing: ['crasher'] });
    expect((failing.body.error as { message: string }).message).toContain('crasher');
    expect(failing.body.services.healthy).toMatchObject({ state: 'up', pid: healthyPid, restarts: 0 });

    // The cause goes away: the next retry brings it up and the stack is ready again.
    rmSync(crashFlag);
    const recovered = await eventually(
      () => readyz(),
      (r) => r.code === 200,
      30_000,
      'status 200 after the crash cause is removed',
    );
    expect(recovered.body).toMatchObject({
      status: 'ready',
      services: { crasher: { state: 'up' }, healthy: { state: 'up', pid: healthyPid, restarts: 0 } },
    });
    expect(alive(recovered.body.services.crasher!.pid!)).toBe(true);

    // The healthy child ran once, the whole time, and was never named as failing.
    expect(runs('healthy')).toEqual([String(healthyPid)]);
    expect(alive(healthyPid)).toBe(true);
    expect(lines.some((l) => l.includes('healthy'))).toBe(false);

    // Stopping the supervisor stops both children.
    const crasherPid = recovered.body.services.crasher!.pid!;
    await supervisor.stop(2000);
    expect([alive(healthyPid), alive(crasherPid)]).toEqual([false, false]);
  }, 120_000);
});
