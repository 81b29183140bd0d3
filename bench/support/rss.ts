import { readFileSync } from 'node:fs';
import { cpuSeconds } from './cpu-time.ts';

/**
 * Peak resident set of a child process in bytes, and the CPU seconds it used, sampled every `everyMs`
 * until stop(). Each sample reads VmHWM too (the kernel's own high-water mark), so a spike between
 * two samples still counts; only the last interval before the process exits goes unseen (by the CPU
 * time too).
 */
export function watchRssAndCpu(pid: number, everyMs = 100): { stop(): { peakRssBytes: number; cpuSeconds: number } } {
  let peak = 0;
  let cpu = 0;
  const sample = () => {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return; // exited
    }
    for (const m of status.matchAll(/^(?:VmRSS|VmHWM):\s+(\d+) kB/gm)) peak = Math.max(peak, Number(m[1]) * 1024);
    cpu = cpuSeconds(pid) ?? cpu;
  };
  const timer = setInterval(sample, everyMs);
  sample();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakRssBytes: peak, cpuSeconds: cpu };
    },
  };
}
