import { AuditLog, createKey, KeyStore, keyCreateSchema, PartnerStore, publicKey, ROLES } from '@confidant/reporter';
import { DomainError, PracticeStore } from '@confidant/shared';
import { Option, type Command } from 'commander';
import type { CommandContext } from '../command-context.ts';

/** `confidant key create|revoke|list`: API keys for the reporter. */
export function addKeyCommands(program: Command, ctx: CommandContext): void {
  const key = program.command('key').description('API keys');
  key
    .command('create')
    .description('create an API key (printed once)')
    .addOption(new Option('--role <role>', 'admin, practice or partner').choices([...ROLES]).makeOptionMandatory())
    .option('--scope <id>', 'the practice or partner the key is for')
    .option('--label <text>', 'a note on who holds the key', '')
    .action((o) =>
      ctx.withDb(async (db, control) => {
        const input = keyCreateSchema.parse({ role: o.role, ...(o.scope ? { scopeId: o.scope } : {}), label: o.label });
        const created = await createKey(
          { practices: new PracticeStore(control), partners: new PartnerStore(control), keys: new KeyStore(control) },
          input,
        );
        await new AuditLog(control).record({
          action: 'key_created',
          actor: 'cli',
          target: `key:${created.keyId}`,
          detail: { role: created.role, scopeId: created.scopeId },
        });
        ctx.io.stderr.write('Store this key now: it is shown only once.\n');
        ctx.print(created);
      }),
    );
  key
    .command('revoke <keyId>')
    .description('revoke an API key')
    .action((keyId: string) =>
      ctx.withDb(async (db, control) => {
        if (!(await new KeyStore(control).revoke(keyId))) throw new DomainError('not-found', `no key ${keyId}`);
        await new AuditLog(control).record({ action: 'key_revoked', actor: 'cli', target: `key:${keyId}` });
        ctx.print({ keyId, revoked: true });
      }),
    );
  key
    .command('list')
    .description('list the API keys (never their secrets)')
    .action(() => ctx.withDb(async (db, control) => ctx.print((await new KeyStore(control).list()).map(publicKey))));
}
