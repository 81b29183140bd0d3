import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export type ShedLimits = {
  /** Events submitted and not yet durable (Kafka ack or fsynced spool): bounds the producer queue. */
  maxInFlight: number;
  /** p99 event-loop delay over the last sample window. */
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  sampleMs: number;
};

/** The part of Node's event-loop delay histogram the shedder reads. */
export type LoopDelayHistogram = Pick<IntervalHistogram, 'count' | 'percentile' | 'reset' | 'enable' | 'disable'>;

export type ShedReason = 'in-flight' | 'event-loop-delay' | 'heap';

/**
 * Refuses new hits (503 + Retry-After) before the collector falls over: when too many events
 * are already waiting to become durable, the event loop lags or the heap is near its ceiling. Refusing is cheap,
 * so the collector keeps answering, and memory stays bounded, at any offered load.
 */
export class LoadShedder {
  private inFlight = 0;
  private lagging = false;
  private heapHigh = false;
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly limits: ShedLimits,
    private readonly heapUsed: () => number = () => process.memoryUsage().heapUsed,
    private readonly delay: LoopDelayHistogram = monitorEventLoopDelay({ resolution: 10 }),
  ) {}

  start(): void {
    this.delay.enable();
    this.timer = setInterval(() => this.sample(), this.limits.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.delay.disable();
  }

  /** Reads the event-loop delay and heap of the window that just ended. */
  sample(): void {
    this.lagging = this.delay.count > 0 && this.delay.percentile(99) / 1e6 > this.limits.maxEventLoopDelayMs;
    this.delay.reset();
    this.heapHigh = this.heapUsed() > this.limits.maxHeapUsedBytes;
  }

  /** Why a new hit must be refused now, or null to admit it. */
  check(): ShedReason | null {
    if (this.inFlight >= this.limits.maxInFlight) return 'in-flight';
    if (this.heapHigh) return 'heap';
    if (this.lagging) return 'event-loop-delay';
    return null;
  }

  /** Counts an event in flight until the returned release is called (once). */
  enter(): () => void {
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
    };
  }

  get current(): number {
    return this.inFlight;
  }
}
