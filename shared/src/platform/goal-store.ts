import { DomainError } from '../contracts/errors.ts';
import { goalSchema, MAX_GOALS_PER_PRACTICE, type Goal } from '../contracts/goal.ts';
import type { ControlDb, ControlQueries } from './postgres/control-db.ts';

type GoalRow = { practice_id: string; definition: unknown };

// Pollers reload a practice when its revision moves (PracticeStore.revision).
const BUMP_REVISION = `UPDATE practices SET revision = nextval('practice_revision') WHERE practice_id = $1`;

/** The goals of every practice in the control plane (table `goals`, control migration 0004). */
export class GoalStore {
  constructor(private readonly db: ControlDb) {}

  /** Every practice's goals, in id order. */
  async all(): Promise<Map<string, Goal[]>> {
    const rows = await this.db.query<GoalRow>(
      'SELECT practice_id, definition FROM goals ORDER BY practice_id, goal_id',
    );
    const out = new Map<string, Goal[]>();
    for (const row of rows) {
      const list = out.get(row.practice_id) ?? [];
      list.push(goalSchema.parse(row.definition));
      out.set(row.practice_id, list);
    }
    return out;
  }

  async list(practiceId: string): Promise<Goal[]> {
    return (await list(this.db, practiceId)).map((r) => goalSchema.parse(r.definition));
  }

  /** Adds a goal; a goal id the practice already has is a conflict, and so is one goal too many. */
  async create(practiceId: string, goal: Goal): Promise<Goal> {
    return this.db.transaction(async (tx) => {
      // Serializes goal changes of one practice, so that the count below holds until commit.
      const [practice] = await tx.query<{ practice_id: string }>(
        'SELECT practice_id FROM practices WHERE practice_id = $1 FOR UPDATE',
        [practiceId],
      );
      if (!practice) throw new DomainError('not-found', `no practice ${practiceId}`);
      const existing = await list(tx, practiceId);
      if (existing.some((r) => (r.definition as Goal).id === goal.id))
        throw new DomainError('conflict', `practice ${practiceId} has a goal ${goal.id}; use PUT to change it`);
      if (existing.length >= MAX_GOALS_PER_PRACTICE)
        throw new DomainError('conflict', `a practice has at most ${MAX_GOALS_PER_PRACTICE} goals`);
      await tx.query('INSERT INTO goals (practice_id, goal_id, definition) VALUES ($1, $2, $3)', [
        practiceId,
        goal.id,
        JSON.stringify(goal),
      ]);
      await tx.query(BUMP_REVISION, [practiceId]);
      return goal;
    });
  }

  /** Replaces an existing goal (its id stays); null when the practice has no such goal. */
  async replace(practiceId: string, goal: Goal): Promise<Goal | null> {
    return this.db.transaction(async (tx) => {
      const updated = await tx.query(
        'UPDATE goals SET definition = $3, updated_at = now() WHERE practice_id = $1 AND goal_id = $2 RETURNING goal_id',
        [practiceId, goal.id, JSON.stringify(goal)],
      );
      if (updated.length === 0) return null;
      await tx.query(BUMP_REVISION, [practiceId]);
      return goal;
    });
  }

  /** Removes a goal; false when there was none. Its stored counts stay. */
  async remove(practiceId: string, goalId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const removed = await tx.query('DELETE FROM goals WHERE practice_id = $1 AND goal_id = $2 RETURNING goal_id', [
        practiceId,
        goalId,
      ]);
      if (removed.length > 0) await tx.query(BUMP_REVISION, [practiceId]);
      return removed.length > 0;
    });
  }
}

const list = (db: ControlQueries, practiceId: string) =>
  db.query<GoalRow>('SELECT practice_id, definition FROM goals WHERE practice_id = $1 ORDER BY goal_id', [practiceId]);
