import { z } from 'zod';
import { envField, loadServiceConfig, retentionEnvShape, type CommonConfig, type Env } from '@confidant/shared';
import type { MailConfig } from './accounts/mailer.ts';
import type { SessionPolicy } from './accounts/session-store.ts';
import type { ThrottlePolicy } from './accounts/sign-in-throttle.ts';
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
  /** Where people reach the reporter: the base of the links in invitation and reset mails. */
  REPORTER_PUBLIC_URL: envField.url('http://127.0.0.1:8081'),
  SESSION_IDLE_SECONDS: envField.int(30 * 60, 1),
  SESSION_ABSOLUTE_SECONDS: envField.int(12 * 3600, 1),
  SIGN_IN_ATTEMPTS_PER_ACCOUNT: envField.int(5, 1),
  SIGN_IN_ATTEMPTS_PER_ADDRESS: envField.int(50, 1),
  SIGN_IN_LOCKOUT_SECONDS: envField.int(15 * 60, 1),
  INVITATION_TTL_SECONDS: envField.int(72 * 3600, 1),
  PASSWORD_RESET_TTL_SECONDS: envField.int(3600, 1),
  /** `smtp://user:password@host:port` for account mail; without it invitations and resets are refused. */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: envField.string('Confidant <no-reply@localhost>'),
  /** Operator admins must enrol two-factor before anything else; `false` is for the `npm start` demo only. */
  OPERATOR_TWO_FACTOR_REQUIRED: envField.bool(true),
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
  accounts: AccountsConfig;
};

export type AccountsConfig = {
  publicUrl: string;
  session: SessionPolicy;
  signIn: ThrottlePolicy;
  invitationTtlMs: number;
  passwordResetTtlMs: number;
  mail: MailConfig;
  operatorTwoFactorRequired: boolean;
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
    accounts: {
      publicUrl: e.REPORTER_PUBLIC_URL.replace(/\/+$/, ''),
      session: { idleMs: e.SESSION_IDLE_SECONDS * 1000, absoluteMs: e.SESSION_ABSOLUTE_SECONDS * 1000 },
      signIn: {
        perAccount: e.SIGN_IN_ATTEMPTS_PER_ACCOUNT,
        perAddress: e.SIGN_IN_ATTEMPTS_PER_ADDRESS,
        windowMs: e.SIGN_IN_LOCKOUT_SECONDS * 1000,
      },
      invitationTtlMs: e.INVITATION_TTL_SECONDS * 1000,
      passwordResetTtlMs: e.PASSWORD_RESET_TTL_SECONDS * 1000,
      mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
      operatorTwoFactorRequired: e.OPERATOR_TWO_FACTOR_REQUIRED,
    },
  }));
}
