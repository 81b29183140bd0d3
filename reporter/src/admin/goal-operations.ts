// Goal administration shared by the admin API and the CLI: domain code, so it throws domain errors
// and leaves the HTTP answer (or the exit code) to its caller.
import { DomainError, goalProblem, goalSchema, type Goal, type GoalStore, type PracticeStore } from '@confidant/shared';

export type GoalStores = { practices: PracticeStore; goals: GoalStore };

/** The goal as given, checked against the practice: a goal that could never match is refused. */
async function checkedGoal(stores: GoalStores, practiceId: string, input: unknown): Promise<Goal> {
  const practice = await stores.practices.get(practiceId);
  if (!practice) throw new DomainError('not-found', `no practice ${practiceId}`);
  const parsed = goalSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DomainError('invalid-input', `${issue.path.join('.') || 'goal'}: ${issue.message}`);
  }
  const problem = goalProblem(parsed.data, practice);
  if (problem) throw new DomainError('invalid-input', problem);
  return parsed.data;
}

export async function listGoals(stores: GoalStores, practiceId: string): Promise<Goal[]> {
  if (!(await stores.practices.get(practiceId))) throw new DomainError('not-found', `no practice ${practiceId}`);
  return stores.goals.list(practiceId);
}

export async function addGoal(stores: GoalStores, practiceId: string, input: unknown): Promise<Goal> {
  return stores.goals.create(practiceId, await checkedGoal(stores, practiceId, input));
}

/** Replaces goal `goalId`; the body's id, when given, must be the same. */
export async function replaceGoal(
  stores: GoalStores,
  practiceId: string,
  goalId: string,
  input: unknown,
): Promise<Goal> {
  const body = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  if (body.id !== undefined && body.id !== goalId)
    throw new DomainError('invalid-input', `id: ${String(body.id)} is not the goal ${goalId} being replaced`);
  const goal = await checkedGoal(stores, practiceId, { ...body, id: goalId });
  const replaced = await stores.goals.replace(practiceId, goal);
  if (!replaced) throw new DomainError('not-found', `practice ${practiceId} has no goal ${goalId}`);
  return replaced;
}

export async function removeGoal(stores: GoalStores, practiceId: string, goalId: string): Promise<void> {
  if (!(await stores.goals.remove(practiceId, goalId)))
    throw new DomainError('not-found', `practice ${practiceId} has no goal ${goalId}`);
}
