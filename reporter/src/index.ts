export { buildApp, type ReporterAppDeps } from './app.ts';
export { loadReporterConfig, type ReporterConfig } from './reporter.config.ts';
export { portabilitySamples } from './queries/portability-samples.ts';
// What the admin CLI (`confidant`) shares with the admin API: stores, validation, reports and releases.
export { ROLES, type Role } from './auth/api-key.ts';
export { KeyStore, publicKey } from './auth/key-store.ts';
export { PartnerStore, type Partner } from './auth/partner-store.ts';
export { EXPORT_FORMATS, type ExportFormat } from './privacy/release-store.ts';
export { monthCounts, partnerRelease, type Release } from './privacy/partner-release.ts';
export type { UniformSource } from './privacy/discrete-laplace.ts';
export {
  MIN_PRACTICES,
  releaseCells,
  VISITOR_DAY_SENSITIVITY,
  type ReleaseCell,
  type TrueCounts,
} from './privacy/release-cells.ts';
export { renderReportCsv } from './render/report-csv.ts';
export { renderReportHtml } from './render/report-html.ts';
export { isMonth } from './report/month.ts';
export { buildMonthlyReport, REPORT_SECTIONS, type MonthlyReport } from './report/monthly-report.ts';
export { createKey, keyCreateSchema, practiceUpdateSchema, updatePractice } from './admin/admin-operations.ts';
export { addGoal, listGoals, removeGoal, replaceGoal } from './admin/goal-operations.ts';
export { hashesMatch, hashSecret } from './auth/api-key.ts';
export { breakdownSql } from './queries/breakdown.query.ts';
export { dailyTotalsSql } from './queries/monthly-report.query.ts';
export { timeseriesSql } from './queries/timeseries.query.ts';
// Accounts for people: the CLI (`confidant user`) and the tests use the same stores and service.
export { AccountService } from './accounts/account-service.ts';
export { AccountStore, PRACTICE_ROLES, type PracticeRole } from './accounts/account-store.ts';
export { normaliseEmail } from './accounts/account-token.ts';
export { AuditLog } from './accounts/audit-log.ts';
export { smtpMailer } from './accounts/mailer.ts';
export { hashPassword } from './accounts/password.ts';
export { auditLogCsv } from './routes/admin.route.ts';
