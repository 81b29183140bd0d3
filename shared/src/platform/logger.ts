import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths that could carry a visitor's identity. Services never log them on purpose; the
 * redaction is the safety net when a request or error object is logged whole.
 */
export const REDACT_PATHS = [
  'ip',
  'ips',
  'userAgent',
  'visitor',
  'visitorKey',
  'cookie',
  'url',
  'referrer',
  'req.ip',
  'req.ips',
  'req.url',
  'req.headers',
  'req.remoteAddress',
  'req.remotePort',
  'request.headers',
  'headers',
  'body',
  'req.body',
  '*.ip',
  '*.url',
  '*.referrer',
  '*.userAgent',
  '*.visitor',
  '*.cookie',
];

export function createLogger(name: string, level: string, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Fastify's default serializers log the URL and remote address; ours log only the route.
    serializers: {
      req: (req: { method?: string; routeOptions?: { url?: string } }) => ({
        method: req.method,
        route: req.routeOptions?.url,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
