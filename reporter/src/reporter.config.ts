import { z } from 'zod';
import { envField, loadServiceConfig, retentionEnvShape, type CommonConfig, type Env } from '@confidant/shared';
import { parseDecimal, type Rational } from './privacy/rational.ts';

const decimal = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => /^\d{1,6}(\.\d{1,6})?$/.test(v) && Number(v) > 0, 'a positive decimal with at most 6 decimals');

const reporterEnvShape = {
  /** The audit behind `GET /v1/admin/audit` flags partitions older than this. */
  ...retentionEnvShape,
  REPORTER_PORT: envField.port(8081),
  REPORTER_HOST: envField.string('127.0.0.1'),
  REPORTER_ADMIN_KEY: z.string().min(24, 'at least 24 characters').optional(),
  REPORTER_RATE_LIMIT_PER_MINUTE: envField.int(600, 1),
  DP_EPSILON_PER_RELEASE: decimal('1'),
  DP_YEARLY_BUDGET: decimal('12'),
  SUPPRESSION_THRESHOLD: envField.int(10, 0, 1000),
};

export type ReporterConfig = CommonConfig & {
  port: number;
  host: string;
  /** Optional bootstrap admin key (demo and tests); real keys come from `confidant key create`. */
  adminKey: string | undefined;
  rateLimitPerMinute: number;
  dp: { epsilonPerRelease: Rational; yearlyBudget: Rational };
  suppressionThreshold: number;
  retentionMonths: number;
};

export function loadReporterConfig(env: Env = process.env): ReporterConfig {
  return loadServiceConfig('confidant-reporter', reporterEnvShape, env, (e) => ({
    port: e.REPORTER_PORT,
    host: e.REPORTER_HOST,
    adminKey: e.REPORTER_ADMIN_KEY,
    rateLimitPerMinute: e.REPORTER_RATE_LIMIT_PER_MINUTE,
    dp: { epsilonPerRelease: parseDecimal(e.DP_EPSILON_PER_RELEASE), yearlyBudget: parseDecimal(e.DP_YEARLY_BUDGET) },
    suppressionThreshold: e.SUPPRESSION_THRESHOLD,
    retentionMonths: e.RETENTION_MONTHS,
  }));
}
