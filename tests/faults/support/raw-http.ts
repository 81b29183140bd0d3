import { connect } from 'node:net';

export type RawTally = { requests: number; responses: number; byStatus: Record<string, number>; closedEarly: number };

const STATUS_LINE = /HTTP\/1\.1 (\d{3}) /g;

/**
 * Writes raw requests on keep-alive connections, pipelined, and counts the status lines that come
 * back. A server may close the connection after a request it refuses (431, 413, a broken frame):
 * the rest of the batch is then sent again on a new connection, so every request gets its turn.
 * A request after which the connection closed without any answer counts as closed early.
 */
export async function pipelined(port: number, requests: Buffer[], timeoutMs = 15_000): Promise<RawTally> {
  const tally: RawTally = { requests: requests.length, responses: 0, byStatus: {}, closedEarly: 0 };
  let remaining = requests;
  while (remaining.length > 0) {
    const statuses = await oneConnection(port, remaining, timeoutMs);
    for (const s of statuses) tally.byStatus[s] = (tally.byStatus[s] ?? 0) + 1;
    tally.responses += statuses.length;
    if (statuses.length === 0) tally.closedEarly++;
    remaining = remaining.slice(Math.max(1, statuses.length));
  }
  return tally;
}

function oneConnection(port: number, requests: Buffer[], timeoutMs: number): Promise<string[]> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve([...text.matchAll(STATUS_LINE)].map((m) => m[1]!).slice(0, requests.length));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('connect', () => socket.end(Buffer.concat(requests)));
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    socket.on('close', finish);
    socket.on('error', () => undefined);
  });
}

/** Sends `head` then dribbles `body` a few bytes at a time: the server must answer or time out, not hang or crash. */
export function slowBody(port: number, head: string, body: Buffer, stepMs: number, maxMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let offset = 0;
    const done = (why: string) => {
      clearInterval(drip);
      clearTimeout(timer);
      socket.destroy();
      resolve(/HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? why);
    };
    const drip = setInterval(() => {
      if (offset >= body.length) return;
      socket.write(body.subarray(offset, offset + 3));
      offset += 3;
    }, stepMs);
    const timer = setTimeout(() => done('no-answer'), maxMs);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (c) => {
      text += c.toString('latin1');
      if (/HTTP\/1\.1 \d{3}/.test(text)) done('answered');
    });
    socket.on('close', () => done('closed'));
    socket.on('error', () => undefined);
  });
}

export function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | string = '',
): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = [
    `${method} ${path} HTTP/1.1`,
    'host: 127.0.0.1',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (
    !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length' || h.toLowerCase() === 'transfer-encoding')
  )
    head.push(`content-length: ${payload.length}`);
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}
