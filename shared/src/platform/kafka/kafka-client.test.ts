import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { connectKafka } from './kafka-client.ts';

function capture(): { lines: () => { level: number; msg: string }[]; stream: PassThrough } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string });
  return { lines, stream };
}

describe('connectKafka logging', () => {
  it('keeps the bounded-retries warning of idempotent producers out of warn, other warnings stay', async () => {
    const out = capture();
    const kafka = connectKafka(
      { clientId: 'test', brokers: ['127.0.0.1:1'], topicPrefix: 'test' },
      createLogger('test', 'debug', out.stream),
    );
    kafka.producer({ idempotent: true, retry: { retries: 3 } });
    kafka.logger().warn('broker unreachable', { broker: '127.0.0.1:1' });
    await new Promise((r) => setImmediate(r));
    const lines = out.lines();
    const bounded = lines.filter((l) => l.msg.startsWith('Limiting retries'));
    expect(bounded.map((l) => l.level)).toEqual([20]);
    expect(lines.filter((l) => l.msg === 'broker unreachable').map((l) => l.level)).toEqual([40]);
  });
});
