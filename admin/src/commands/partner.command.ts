import { PartnerStore } from '@confidant/reporter';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';

/** `confidant partner add|list`: the recipients of cross-practice exports. */
export function addPartnerCommands(program: Command, ctx: CommandContext): void {
  const partner = program.command('partner').description('register data partners');
  partner
    .command('add')
    .description('register a data partner')
    .requiredOption('--id <id>')
    .requiredOption('--name <name>')
    .action((o) =>
      ctx.withDb(async (db, control) => {
        const store = new PartnerStore(control);
        const created = await store.create({ id: o.id, name: o.name });
        if (!created) throw new Error(`partner ${o.id} exists`);
        ctx.print(created);
      }),
    );
  partner
    .command('list')
    .description('list the data partners')
    .action(() => ctx.withDb(async (db, control) => ctx.print(await new PartnerStore(control).list())));
}
