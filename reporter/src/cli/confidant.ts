// The `confidant` admin CLI (`npm run confidant -- <command>`): onboarding, keys, reports and
// exports straight against ClickHouse, with the same validation and stores as the admin API.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { ZodError } from 'zod';
import { ApiError, connectClickHouse, migrate, PracticeStore, practiceSchema, type Db } from '@confidant/shared';
import { ROLES } from '../auth/api-key.ts';
import { KeyStore, publicKey } from '../auth/key-store.ts';
import { PartnerStore } from '../auth/partner-store.ts';
import { EXPORT_FORMATS } from '../privacy/budget-ledger.ts';
import { partnerRelease } from '../privacy/partner-release.ts';
import { renderReportCsv } from '../render/report-csv.ts';
import { renderReportHtml } from '../render/report-html.ts';
import { loadReporterConfig } from '../reporter.config.ts';
import { isMonth } from '../report/month.ts';
import { buildMonthlyReport } from '../report/monthly-report.ts';
import { createKey, keyCreateSchema, practiceUpdateSchema, updatePractice } from '../admin/admin-operations.ts';

const config = loadReporterConfig();

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  await migrate(config.clickhouse);
  const db = connectClickHouse(config.clickhouse);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const print = (value: unknown): void =>
  void process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const onOff = (v: string): boolean => {
  if (v !== 'on' && v !== 'off') throw new Error(`expected on or off, got ${v}`);
  return v === 'on';
};
const month = (v: string): string => {
  if (!isMonth(v)) throw new Error(`month must be written YYYY-MM, got ${v}`);
  return v;
};

async function output(text: string, out: string | undefined): Promise<void> {
  if (out) {
    await writeFile(out, text);
    process.stderr.write(`written to ${out}\n`);
  } else {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

const program = new Command('confidant').description(
  'Confidant administration: practices, partners, API keys, reports and exports',
);

const practice = program.command('practice').description('register and change practices');
practice
  .command('add')
  .requiredOption('--id <id>', 'practice id (lowercase letters, digits, -)')
  .requiredOption('--name <name>', 'display name')
  .requiredOption('--domain <host>', 'registered domain (repeatable)', collect)
  .requiredOption('--timezone <tz>', 'IANA time zone, e.g. America/New_York')
  .option('--site-key <key>', 'site key for the snippet (default: random)')
  .option('--cookie-mode', 'count unique browsers with a first-party cookie')
  .option('--share-with-partners', 'include in cross-practice partner exports')
  .option('--exit-allow <host>', 'allowlisted exit domain (repeatable)', collect)
  .option('--prop <name>', 'allowlisted custom event property (repeatable)', collect)
  .option('--page-classes <json>', 'page-class rules as JSON (default: the shipped rules)')
  .action((o) =>
    withDb(async (db) => {
      const store = new PracticeStore(db);
      const input = practiceSchema.parse({
        id: o.id,
        name: o.name,
        siteKey: o.siteKey ?? randomBytes(12).toString('base64url'),
        domains: o.domain,
        timezone: o.timezone,
        cookieMode: Boolean(o.cookieMode),
        shareWithPartners: Boolean(o.shareWithPartners),
        exitAllowlist: o.exitAllow ?? [],
        propsAllowlist: o.prop ?? [],
        ...(o.pageClasses ? { pageClasses: JSON.parse(o.pageClasses) } : {}),
      });
      if (await store.get(input.id)) throw new Error(`practice ${input.id} exists; use practice update`);
      print(await store.save(input));
    }),
  );
practice.command('list').action(() => withDb(async (db) => print(await new PracticeStore(db).list())));
practice
  .command('update <id>')
  .option('--name <name>')
  .option('--domain <host>', 'replaces the domain list (repeatable)', collect)
  .option('--timezone <tz>')
  .option('--cookie-mode <on|off>', 'cookie mode', onOff)
  .option('--share-with-partners <on|off>', 'partner sharing', onOff)
  .option('--exit-allow <host>', 'replaces the exit allowlist (repeatable)', collect)
  .option('--prop <name>', 'replaces the property allowlist (repeatable)', collect)
  .option('--page-classes <json>', 'replaces the page-class rules')
  .action((id: string, o) =>
    withDb(async (db) => {
      const patch = practiceUpdateSchema.parse({
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.domain ? { domains: o.domain } : {}),
        ...(o.timezone ? { timezone: o.timezone } : {}),
        ...(o.cookieMode !== undefined ? { cookieMode: o.cookieMode } : {}),
        ...(o.shareWithPartners !== undefined ? { shareWithPartners: o.shareWithPartners } : {}),
        ...(o.exitAllow ? { exitAllowlist: o.exitAllow } : {}),
        ...(o.prop ? { propsAllowlist: o.prop } : {}),
        ...(o.pageClasses ? { pageClasses: JSON.parse(o.pageClasses) } : {}),
      });
      print(await updatePractice(new PracticeStore(db), id, patch));
    }),
  );

const partner = program.command('partner').description('register data partners');
partner
  .command('add')
  .requiredOption('--id <id>')
  .requiredOption('--name <name>')
  .action((o) =>
    withDb(async (db) => {
      const store = new PartnerStore(db);
      if (await store.get(o.id)) throw new Error(`partner ${o.id} exists`);
      print(await store.save({ id: o.id, name: o.name }));
    }),
  );
partner.command('list').action(() => withDb(async (db) => print(await new PartnerStore(db).list())));

const key = program.command('key').description('API keys');
key
  .command('create')
  .addOption(new Option('--role <role>', 'admin, practice or partner').choices([...ROLES]).makeOptionMandatory())
  .option('--scope <id>', 'the practice or partner the key is for')
  .option('--label <text>', 'a note on who holds the key', '')
  .action((o) =>
    withDb(async (db) => {
      const input = keyCreateSchema.parse({ role: o.role, ...(o.scope ? { scopeId: o.scope } : {}), label: o.label });
      const created = await createKey(
        { practices: new PracticeStore(db), partners: new PartnerStore(db), keys: new KeyStore(db) },
        input,
      );
      process.stderr.write('Store this key now: it is shown only once.\n');
      print(created);
    }),
  );
key.command('revoke <keyId>').action((keyId: string) =>
  withDb(async (db) => {
    if (!(await new KeyStore(db).revoke(keyId))) throw new Error(`no key ${keyId}`);
    print({ keyId, revoked: true });
  }),
);
key.command('list').action(() => withDb(async (db) => print((await new KeyStore(db).list()).map(publicKey))));

program
  .command('report')
  .description('monthly report of one practice')
  .requiredOption('--practice <id>')
  .requiredOption('--month <YYYY-MM>', 'month', month)
  .addOption(new Option('--format <format>').choices(['json', 'csv', 'html']).default('json'))
  .option('--limit <n>', 'rows per section', (v) => Number.parseInt(v, 10), 10)
  .option('--out <file>', 'write to a file instead of stdout')
  .action((o) =>
    withDb(async (db) => {
      const p = await new PracticeStore(db).get(o.practice);
      if (!p) throw new Error(`no practice ${o.practice}`);
      const report = await buildMonthlyReport(db, p, o.month, { limit: o.limit });
      const text =
        o.format === 'csv'
          ? renderReportCsv(report)
          : o.format === 'html'
            ? renderReportHtml(report)
            : JSON.stringify(report, null, 2);
      await output(text, o.out);
    }),
  );

program
  .command('export')
  .description('partner export (made once per partner and month, charged to the privacy budget)')
  .requiredOption('--partner <id>')
  .requiredOption('--month <YYYY-MM>', 'month', month)
  .addOption(new Option('--format <format>').choices([...EXPORT_FORMATS]).default('csv'))
  .option('--out <file>', 'write to a file instead of stdout')
  .action((o) =>
    withDb(async (db) => {
      if (!(await new PartnerStore(db).get(o.partner))) throw new Error(`no partner ${o.partner}`);
      const release = await partnerRelease(
        {
          db,
          epsilon: config.dp.epsilonPerRelease,
          yearlyBudget: config.dp.yearlyBudget,
          suppressionThreshold: config.suppressionThreshold,
        },
        o.partner,
        o.month,
        o.format,
      );
      process.stderr.write(
        `${release.created ? 'new release' : 'stored release'} ${String(release.manifest.release_id)}\n`,
      );
      await output(release.body, o.out);
    }),
  );

// Commands owned by other services run their own entry points with the remaining arguments.
program
  .command('logs')
  .description(
    'web-server access logs: `logs import <file|-> --practice ID [--format F] [--import-id NAME] [--give-up-after SECONDS]`, `logs key create --practice ID`',
  )
  .helpOption(false)
  .allowUnknownOption()
  .argument('[args...]')
  .action(async (args: string[]) => {
    if (args[0] === 'import') {
      const { main } = await import('@confidant/collector/logs/import-cli');
      process.exitCode = await main(args.slice(1));
    } else if (args[0] === 'key' && args[1] === 'create' && args[2] === '--practice' && args[3]) {
      const practiceId = args[3];
      const { createIngestKey } = await import('@confidant/collector/logs/ingest-key');
      await withDb(async (db) => {
        if (!(await new PracticeStore(db).get(practiceId))) throw new Error(`no practice ${practiceId}`);
        process.stderr.write('ingest key (shown once; send as "Authorization: Bearer <key>" to POST /v1/logs):\n');
        print(await createIngestKey(db, practiceId));
      });
    } else {
      throw new Error(
        'usage: confidant logs import <file|-> --practice ID [--format F] [--import-id NAME] [--give-up-after SECONDS] | confidant logs key create --practice ID',
      );
    }
  });

program
  .command('audit')
  .description('prove the stored data is aggregate-only; exits non-zero on any finding')
  .action(async () => {
    // The audit entry point runs on import and sets the exit code.
    await import('@confidant/processor/bin/audit');
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message =
    error instanceof ZodError
      ? error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('\n')
      : error instanceof ApiError || error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`confidant: ${message}\n`);
  process.exitCode = 1;
}
