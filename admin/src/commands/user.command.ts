import { randomBytes } from 'node:crypto';
import {
  AccountService,
  auditLogCsv,
  AuditLog,
  normaliseEmail,
  PartnerStore,
  PRACTICE_ROLES,
  smtpMailer,
} from '@confidant/reporter';
import { PracticeStore, type ControlDb } from '@confidant/shared';
import { Option, type Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { UsageError } from '../exit-codes.ts';

const ACTOR = 'cli';

const email = (v: string): string => {
  const e = normaliseEmail(v);
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e)) throw new UsageError(`not an email address: ${v}`);
  return e;
};

const count = (name: string, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`${name} must be an integer from 0 to ${max}`);
  return n;
};

/**
 * `confidant user create --admin|invite|list`: people's accounts (the reporter's sign-in), and
 * `confidant audit-log`: the append-only log of access changes.
 */
export function addUserCommands(program: Command, ctx: CommandContext): void {
  const service = (control: ControlDb) =>
    new AccountService({
      control,
      practices: new PracticeStore(control),
      partners: new PartnerStore(control),
      config: ctx.config.accounts,
      mailer: smtpMailer(ctx.config.accounts.mail),
      now: () => new Date(),
    });
  const user = program.command('user').description('accounts for people (sign-in to the reporter)');
  user
    .command('create')
    .description(
      'create an operator admin with a generated password (printed once); two-factor is set up at first sign-in',
    )
    .requiredOption('--email <email>', 'their sign-in email', email)
    .requiredOption('--admin', 'an operator admin (other people are invited: `user invite`)')
    .action((o: { email: string }) =>
      ctx.withDb(async (_db, control) => {
        const password = randomBytes(18).toString('base64url');
        const { userId } = await service(control).createOperatorAdmin(o.email, password, ACTOR);
        ctx.io.stderr.write('Give this password to its holder now: it is shown only once.\n');
        ctx.print({ userId, email: o.email, operatorAdmin: true, password });
      }),
    );
  user
    .command('invite')
    .description('mail a single-use invitation to a practice (with a role) or to a partner')
    .requiredOption('--email <email>', 'whom to invite', email)
    .option('--practice <id>', 'the practice they join')
    .addOption(new Option('--role <role>', 'their role in the practice').choices([...PRACTICE_ROLES]))
    .option('--partner <id>', 'the partner whose releases they may download')
    .action((o: { email: string; practice?: string; role?: 'owner' | 'viewer'; partner?: string }) =>
      ctx.withDb(async (_db, control) => {
        if (Boolean(o.practice) === Boolean(o.partner)) throw new UsageError('give either --practice or --partner');
        if (o.practice && !o.role) throw new UsageError('--practice needs --role owner or viewer');
        const accounts = service(control);
        const invitation = o.practice
          ? { email: o.email, practiceId: o.practice, role: o.role! }
          : { email: o.email, partnerId: o.partner! };
        const { expiresAt } = await accounts.invite(invitation, ACTOR, null);
        ctx.print({ ...invitation, expiresAt });
      }),
    );
  user
    .command('list')
    .description('list the people with accounts')
    .action(() => ctx.withDb(async (_db, control) => ctx.print(await service(control).accounts.list())));

  program
    .command('audit-log')
    .description('print or export the audit log of access changes (sign-ins, invitations, roles, keys)')
    .option('--after <seq>', 'only entries after this sequence number', count('--after', Number.MAX_SAFE_INTEGER), 0)
    .option('--limit <n>', 'at most this many entries', count('--limit', 1_000_000), 100_000)
    .addOption(new Option('--format <format>', 'json or csv').choices(['json', 'csv']).default('json'))
    .option('--out <file>', 'write to a file instead of stdout')
    .action((o: { after: number; limit: number; format: 'json' | 'csv'; out?: string }) =>
      ctx.withDb(async (_db, control) => {
        const entries = await new AuditLog(control).list({ afterSeq: o.after, limit: o.limit });
        await ctx.output(o.format === 'csv' ? auditLogCsv(entries) : JSON.stringify(entries, null, 2), o.out);
      }),
    );
}
