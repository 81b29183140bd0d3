// The one place the admin CLI reads its environment.
import { loadCollectorConfig, type CollectorConfig } from '@confidant/collector';
import { loadReporterConfig, type ReporterConfig } from '@confidant/reporter';
import {
  loadCommonConfig,
  loadSaltStoreConfig,
  type ClickHouseConfig,
  type CommonConfig,
  type Env,
} from '@confidant/shared';

export type AdminConfig = CommonConfig & {
  /** Months of rollups kept (`RETENTION_MONTHS`): `retention` drops older partitions, `audit` flags them. */
  retentionMonths: number;
  /** Partner exports are made with the reporter's privacy settings (`DP_*`, `SUPPRESSION_THRESHOLD`). */
  release: ReporterConfig['dp'] & { suppressionThreshold: number };
  /** `logs import` runs the collector's pipeline with the collector's settings (`SPOOL_*`, `PRODUCE*`, `LOG_*`). */
  logImport: CollectorConfig;
  /** The salt database and its own user (`CLICKHOUSE_SALT_*`): `salts expire` and `audit` read it. */
  salts: ClickHouseConfig;
  /** `user invite` sends the reporter's invitation mail (`SMTP_URL`, `MAIL_FROM`, `REPORTER_PUBLIC_URL`, TTLs). */
  accounts: ReporterConfig['accounts'];
};

/**
 * Parsed once at start and passed down. The settings admin shares with a service are read with that
 * service's own parser, so that the CLI and the service cannot disagree about a variable.
 */
export function loadAdminConfig(env: Env = process.env): AdminConfig {
  const reporter = loadReporterConfig(env);
  return {
    ...loadCommonConfig('confidant-admin', env),
    retentionMonths: reporter.retentionMonths,
    release: { ...reporter.dp, suppressionThreshold: reporter.suppressionThreshold },
    logImport: loadCollectorConfig(env),
    salts: loadSaltStoreConfig(env),
    accounts: reporter.accounts,
  };
}
