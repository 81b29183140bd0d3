// `confidant audit`: prints the privacy audit as JSON; exits 1 when there is any finding.
import { connectClickHouse, connectKafka, createLogger } from '@confidant/shared';
import { runPrivacyAudit } from '../audit/privacy-audit.ts';
import { loadProcessorConfig } from '../processor.config.ts';

const config = loadProcessorConfig();
const logger = createLogger('audit', config.logLevel);
const db = connectClickHouse(config.clickhouse);
const admin = connectKafka(config.kafka, logger).admin();
await admin.connect();
try {
  const report = await runPrivacyAudit({
    db,
    admin,
    topicPrefix: config.kafka.topicPrefix,
    retentionMonths: config.retentionMonths,
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.findings.length > 0 ? 1 : 0;
} finally {
  await admin.disconnect();
  await db.close();
}
