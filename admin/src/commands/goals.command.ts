import { addGoal, listGoals, removeGoal, replaceGoal } from '@confidant/reporter';
import { GoalStore, PracticeStore, type ControlDb } from '@confidant/shared';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { UsageError } from '../exit-codes.ts';

type GoalOptions = {
  name?: string;
  page?: string;
  pageClass?: string;
  event?: string;
  prop?: string;
};

/** The goal the options describe: exactly one of --page, --page-class and --event; --prop only with --event. */
function goalFromOptions(id: string, o: GoalOptions): Record<string, unknown> {
  const kinds = [o.page, o.pageClass, o.event].filter((k) => k !== undefined).length;
  if (kinds !== 1) throw new UsageError('give exactly one of --page, --page-class and --event');
  const base = { id, name: o.name ?? id };
  if (o.page !== undefined) return { ...base, kind: 'page', pattern: o.page };
  if (o.pageClass !== undefined) return { ...base, kind: 'page-class', pageClass: o.pageClass };
  if (o.prop === undefined) return { ...base, kind: 'event', event: o.event };
  const cut = o.prop.indexOf('=');
  if (cut < 1) throw new UsageError(`--prop must be written key=value, got ${o.prop}`);
  return { ...base, kind: 'event', event: o.event, prop: { key: o.prop.slice(0, cut), value: o.prop.slice(cut + 1) } };
}

const stores = (control: ControlDb) => ({ practices: new PracticeStore(control), goals: new GoalStore(control) });

const describeGoal = (command: Command): Command =>
  command
    .option('--name <name>', 'display name (default: the id)')
    .option('--page <pattern>', 'a page pattern such as /contact/thanks or /book-online/**')
    .option('--page-class <class>', 'a count-only page class such as appointments')
    .option('--event <name>', 'a declared custom event')
    .option('--prop <key=value>', 'with --event: only events whose property has this value');

/** `confidant goals list|add|update|remove`: what counts as a conversion for a practice. */
export function addGoalsCommands(program: Command, ctx: CommandContext): void {
  const goals = program.command('goals').description('define what counts as a conversion for a practice');
  goals
    .command('list <practice>')
    .description("list a practice's goals")
    .action((practiceId: string) =>
      ctx.withDb(async (_db, control) => ctx.print(await listGoals(stores(control), practiceId))),
    );
  describeGoal(goals.command('add <practice> <goal-id>').description('add a goal to a practice')).action(
    (practiceId: string, goalId: string, o: GoalOptions) => {
      const goal = goalFromOptions(goalId, o);
      return ctx.withDb(async (_db, control) => ctx.print(await addGoal(stores(control), practiceId, goal)));
    },
  );
  describeGoal(goals.command('update <practice> <goal-id>').description('replace a goal')).action(
    (practiceId: string, goalId: string, o: GoalOptions) => {
      const goal = goalFromOptions(goalId, o);
      return ctx.withDb(async (_db, control) =>
        ctx.print(await replaceGoal(stores(control), practiceId, goalId, goal)),
      );
    },
  );
  goals
    .command('remove <practice> <goal-id>')
    .description('remove a goal (its counts so far stay)')
    .action((practiceId: string, goalId: string) =>
      ctx.withDb(async (_db, control) => {
        await removeGoal(stores(control), practiceId, goalId);
        ctx.print({ practiceId, goalId, removed: true });
      }),
    );
}
