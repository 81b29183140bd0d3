import { Readable } from 'node:stream';
import {
  ApiError,
  ErrorCode,
  errorHandler,
  header,
  invalidInput,
  type ControlQueries,
  type Db,
  type Practice,
} from '@confidant/shared';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CountryLookup } from '../deid/country.ts';
import type { RareValueGate } from '../deid/rare-value-gate.ts';
import type { SaltSource } from '../deid/salt-store.ts';
import type { Metrics } from '../metrics.ts';
import { BoundedCache } from '../deid/bounded-cache.ts';
import { ClickHouseImportLedger, CLIENT_IMPORT_ID_RE, shipperImportId } from './import-ledger.ts';
import { practiceForIngestKey } from './ingest-key.ts';
import { InputTooLargeError } from './line-reader.ts';
import {
  ChunkGapError,
  ImportFailedError,
  ImportMismatchError,
  importLogStream,
  type EventBatchSink,
  type ImportSummary,
} from './log-import.ts';
import { parseFormatSpec } from './log-parser.ts';

export type LogRouteDeps = {
  /** The import ledger (ClickHouse, beside the rollups it guards). */
  db: Db;
  /** Ingest keys (the control plane). */
  control: ControlQueries;
  /** Practice by id; `PracticeStore` in production. */
  practices: { get(id: string): Promise<Practice | null> };
  sink: EventBatchSink;
  salts: SaltSource;
  country: CountryLookup;
  /** The collector's rare-value gate, the beacons' own. */
  rareValues: RareValueGate;
  metrics: Pick<Metrics, 'logLines'>;
  /** Largest accepted body in bytes (default 50 MiB); a gzip body may expand to 20 times that. */
  bodyLimit?: number;
  /** How long one upload waits for Kafka, the spool or ClickHouse before answering 503 (default 15 s). */
  giveUpMs?: number;
};

export const LOG_BODY_LIMIT = 50 * 1024 * 1024;
const GIVE_UP_MS = 15_000;
const EXPANSION_LIMIT = 20;
const CHUNK_START_RE = /^\d{1,12}$/;
const KEY_CACHE_MS = 30_000;

/** The errors only this route raises (import state, decompression, the producer), for the shared error handler. */
function logImportError(error: Error): ApiError | null {
  if (error instanceof ChunkGapError || error instanceof ImportMismatchError)
    return new ApiError(409, ErrorCode.conflict, error.message);
  if (error instanceof InputTooLargeError)
    return new ApiError(413, ErrorCode.payloadTooLarge, 'decompressed body is too large');
  // Re-sending the same body (or chunk) later is safe: committed lines are skipped, and lines produced twice are dropped by the processor.
  if (error instanceof ImportFailedError) {
    return new ApiError(
      503,
      ErrorCode.unavailable,
      `cannot durably accept events right now; ${error.summary.linesCommitted} lines of this import are committed, send the rest again later`,
      { 'retry-after': '30' },
    );
  }
  const code = (error as { code?: string }).code;
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'ERR_INVALID_ARG_TYPE')
    return new ApiError(400, ErrorCode.invalidBody, 'body is not valid gzip');
  return null;
}

function countLines(metrics: LogRouteDeps['metrics'], s: ImportSummary): void {
  const skipped = Object.values(s.skipped).reduce((n, k) => n + (k ?? 0), 0);
  const counts = {
    pageview: s.pageviews,
    notfound: s.notFound,
    skipped,
    malformed: s.malformed.count,
    'already-imported': s.alreadyImported,
  };
  for (const [outcome, n] of Object.entries(counts)) if (n > 0) metrics.logLines.inc({ outcome }, n);
}

/**
 * `POST /v1/logs` for log shippers: a body of access-log lines (plain or gzip; Combined,
 * Common, JSON lines or an nginx `log_format` named in `X-Log-Format`), authenticated with
 * the practice's ingest key. Answers with the import summary. `X-Import-Id` + `X-Chunk-Start`
 * (lines of that import sent before this body) make shipping resumable; without them the
 * body itself is the import, so posting the same body twice counts it once.
 * A plugin of its own scope: its body limit, parsers and error mapping do not leak to the beacon routes.
 */
export const logRoutes: FastifyPluginAsync<LogRouteDeps> = async (scope, deps) => {
  const bodyLimit = deps.bodyLimit ?? LOG_BODY_LIMIT;
  const ledger = new ClickHouseImportLedger(deps.db);
  const keys = new BoundedCache<string, { until: number }>(1000);

  const authenticate = async (request: FastifyRequest): Promise<Practice> => {
    const auth = header(request, 'authorization') ?? '';
    const secret = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    const unauthorized = new ApiError(
      401,
      ErrorCode.unauthorized,
      'send the practice ingest key as Authorization: Bearer <key>',
      { 'www-authenticate': 'Bearer' },
    );
    if (!secret) throw unauthorized;
    // Only refusals are cached (guessing keys must not cost a query each); a valid key is looked up
    // on every upload, so a revocation applies to the very next one.
    const refused = keys.get(secret);
    if (refused && refused.until >= Date.now()) throw unauthorized;
    const practiceId = await practiceForIngestKey(deps.control, secret);
    if (!practiceId) {
      keys.set(secret, { until: Date.now() + KEY_CACHE_MS });
      throw unauthorized;
    }
    const practice = await deps.practices.get(practiceId);
    if (!practice) throw new ApiError(403, ErrorCode.forbidden, 'the practice of this ingest key no longer exists');
    return practice;
  };

  scope.removeAllContentTypeParsers();
  // Shippers label JSON lines either way; a body is read line by line whatever its type says.
  scope.addContentTypeParser(
    ['text/plain', 'application/x-ndjson', 'application/json', 'application/octet-stream', 'application/gzip'],
    { parseAs: 'buffer', bodyLimit },
    (_req, body, done) => done(null, body),
  );
  scope.setErrorHandler(
    errorHandler({ accepts: 'text/plain, application/x-ndjson or application/json', routeErrors: logImportError }),
  );

  scope.post('/v1/logs', { bodyLimit }, async (request, reply) => {
    const practice = await authenticate(request);
    const encoding = (header(request, 'content-encoding') ?? 'identity').toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip')
      throw new ApiError(415, ErrorCode.unsupportedMediaType, 'Content-Encoding must be gzip or identity');
    const format = parseFormatSpec(header(request, 'x-log-format'));
    if (!format) throw invalidInput('headers', 'combined, common, json, auto or nginx:<log_format>', 'X-Log-Format');
    const clientImportId = header(request, 'x-import-id');
    const chunkStart = header(request, 'x-chunk-start');
    if (clientImportId !== undefined && !CLIENT_IMPORT_ID_RE.test(clientImportId))
      throw invalidInput('headers', '1-128 of A-Z a-z 0-9 . _ : -', 'X-Import-Id');
    // Both or neither: without the start line, a shipper's next body would be taken for its first and skipped.
    if (
      (chunkStart === undefined) !== (clientImportId === undefined) ||
      (chunkStart !== undefined && !CHUNK_START_RE.test(chunkStart))
    ) {
      throw invalidInput(
        'headers',
        'X-Import-Id and X-Chunk-Start go together: an import id and the line count before this body',
      );
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const summary = await importLogStream(
      Readable.from([body]),
      {
        practice,
        importId: clientImportId ? shipperImportId(practice.id, clientImportId) : undefined,
        format,
        firstLineOffset: chunkStart ? Number(chunkStart) : 0,
        maxDecodedBytes: bodyLimit * EXPANSION_LIMIT,
        giveUpMs: deps.giveUpMs ?? GIVE_UP_MS,
      },
      { sink: deps.sink, salts: deps.salts, country: deps.country, ledger, rareValues: deps.rareValues },
    );
    countLines(deps.metrics, summary);
    return reply.code(200).send(summary);
  });
};
