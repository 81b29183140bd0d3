import { randomBytes } from 'node:crypto';
import { practiceUpdateSchema, updatePractice } from '@confidant/reporter';
import { PracticeStore, practiceSchema } from '@confidant/shared';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { collect, onOff, parseJson } from '../option-parsers.ts';

/** `confidant practice add|list|update`: the practice registry the collector polls. */
export function addPracticeCommands(program: Command, ctx: CommandContext): void {
  const practice = program.command('practice').description('register and change practices');
  practice
    .command('add')
    .description('register a practice')
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
    .option(
      '--events <json>',
      'declared custom events as JSON: [{"name":"Booking: started","props":{"plan":["basic"]}}]',
    )
    .option('--path-templates <json>', 'path templates as JSON: [{"pattern":"/providers/*","path":"/providers/:slug"}]')
    .action((o) =>
      ctx.withDb(async (db, control) => {
        const store = new PracticeStore(control);
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
          ...(o.pageClasses ? { pageClasses: parseJson(o.pageClasses) } : {}),
          ...(o.events ? { events: parseJson(o.events) } : {}),
          ...(o.pathTemplates ? { pathTemplates: parseJson(o.pathTemplates) } : {}),
        });
        const created = await store.create(input);
        if (!created) throw new Error(`practice ${input.id} exists; use practice update`);
        ctx.print(created);
      }),
    );
  practice
    .command('list')
    .description('list the practices')
    .action(() => ctx.withDb(async (db, control) => ctx.print(await new PracticeStore(control).list())));
  practice
    .command('update <id>')
    .description('change a practice (only the options given)')
    .option('--name <name>')
    .option('--domain <host>', 'replaces the domain list (repeatable)', collect)
    .option('--timezone <tz>')
    .option('--cookie-mode <on|off>', 'cookie mode', onOff)
    .option('--share-with-partners <on|off>', 'partner sharing', onOff)
    .option('--exit-allow <host>', 'replaces the exit allowlist (repeatable)', collect)
    .option('--prop <name>', 'replaces the property allowlist (repeatable)', collect)
    .option('--page-classes <json>', 'replaces the page-class rules')
    .option('--events <json>', 'replaces the declared custom events')
    .option('--path-templates <json>', 'replaces the path templates')
    .action((id: string, o) =>
      ctx.withDb(async (db, control) => {
        const patch = practiceUpdateSchema.parse({
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.domain ? { domains: o.domain } : {}),
          ...(o.timezone ? { timezone: o.timezone } : {}),
          ...(o.cookieMode !== undefined ? { cookieMode: o.cookieMode } : {}),
          ...(o.shareWithPartners !== undefined ? { shareWithPartners: o.shareWithPartners } : {}),
          ...(o.exitAllow ? { exitAllowlist: o.exitAllow } : {}),
          ...(o.prop ? { propsAllowlist: o.prop } : {}),
          ...(o.pageClasses ? { pageClasses: parseJson(o.pageClasses) } : {}),
          ...(o.events ? { events: parseJson(o.events) } : {}),
          ...(o.pathTemplates ? { pathTemplates: parseJson(o.pathTemplates) } : {}),
        });
        ctx.print(await updatePractice(new PracticeStore(control), id, patch));
      }),
    );
}
