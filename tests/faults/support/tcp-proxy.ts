import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyHooks = {
  /** A request whose first bytes contain this marker is "watched" (e.g. the processor's rollup insert). */
  watch?: string;
  /** Called when a watched request arrives, before it is forwarded; return true to swallow it. */
  onWatchedRequest?: () => boolean;
  /** Called when the response to a watched request arrives, before it is forwarded; return true to swallow it. */
  onWatchedResponse?: () => boolean;
};

/**
 * A loopback TCP proxy in front of an engine, under the test's control: it can refuse
 * connections (engine down), delay every chunk (engine slow) and intercept marked requests,
 * without touching the shared engine behind it.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  delayMs = 0;
  hooks: ProxyHooks = {};

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    if (this.server) return;
    this.server = createServer((client) => this.bridge(client));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Closes the listener and every open connection: the engine looks down. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  private bridge(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => s.destroy());
    }
    let watched = false;
    const forward = (to: Socket, chunk: Buffer) => {
      if (this.delayMs > 0) setTimeout(() => to.destroyed || to.write(chunk), this.delayMs);
      else to.write(chunk);
    };
    client.on('data', (chunk) => {
      if (this.hooks.watch && chunk.includes(this.hooks.watch)) {
        watched = true;
        if (this.hooks.onWatchedRequest?.()) return;
      }
      forward(upstream, chunk);
    });
    upstream.on('data', (chunk) => {
      if (watched) {
        watched = false;
        if (this.hooks.onWatchedResponse?.()) return;
      }
      forward(client, chunk);
    });
  }
}
