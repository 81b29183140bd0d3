import { readFileSync } from 'node:fs';

/**
 * Peak resident set of a child process in bytes, sampled every `everyMs` until stop(). Each sample
 * reads VmHWM too (the kernel's own high-water mark), so a spike between two samples still counts;
 * only the last interval before the process exits goes unseen.
 */
export function watchPeakRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const sample = () => {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return; // exited
    }
    for (const m of status.matchAll(/^(?:VmRSS|VmHWM):\s+(\d+) kB/gm)) peak = Math.max(peak, Number(m[1]) * 1024);
  };
  const timer = setInterval(sample, everyMs);
  sample();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
