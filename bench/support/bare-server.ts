// Baseline for the collector bench: a bare fastify route answering 202 to the same beacon body.
// `node --import tsx bench/support/bare-server.ts PORT`; the runner starts and stops it.
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false, bodyLimit: 4096 });
// Same content types as the collector, read as a string: the baseline does the HTTP work and nothing else.
app.removeAllContentTypeParsers();
app.addContentTypeParser(['text/plain', 'application/json'], { parseAs: 'string' }, (_req, body, done) =>
  done(null, body),
);
app.post('/e', async (_request, reply) => reply.code(202).send());
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port, host: '127.0.0.1' });

const stop = async () => {
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
