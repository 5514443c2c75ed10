import type { Db, Executor } from '../db/database.js';
import { transact } from '../db/transaction.js';
import type { Group } from '../modules/groups/index.js';
import type { PublicUser } from '../modules/users/index.js';
import { countEntities, entitiesAfter, loadEntities } from './indexed-entities.repo.js';
import { GROUP_COLUMNS, toGroup } from '../modules/groups/index.js';
import { toPublicUser } from '../modules/users/index.js';
import type { IndexChange, PageWindow, SearchIndex } from './search-index.js';
import { GramCounts } from './gram-counts.js';
import { clearKind, insertDocuments, type ResultTable, rowsContaining, rowsWithGram, writeDocument } from './search.repo.js';
import { type IndexedKind, kindCodes } from './search.table.js';
import { documentText, normalise, trigrams } from './search-text.js';

/** Grams counted no further than this when choosing which one drives a lookup. */
const COUNT_CAP = 2000;
/** Besides the driver, this many of the rarest grams filter candidates before the exact check. */
const PROBES = 2;
const REBUILD_BATCH = 1000;

const userResults: ResultTable = { table: 'users', columns: ['id', 'username', 'nickname', 'avatar', 'sex'] };
const groupResults: ResultTable = { table: 'groups', columns: [...GROUP_COLUMNS] };
type UserResult = Parameters<typeof toPublicUser>[0];
type GroupResult = Parameters<typeof toGroup>[0];

/**
 * Search by the database itself (SQLite and MySQL/MariaDB alike): a postings table of bigrams and
 * trigrams kept in step inside each writing transaction. A word of two or three characters is
 * its own gram, so its postings are the answer; a longer word is looked up through its rarest
 * trigram, filtered by the next rarest, then checked exactly against the stored text. Every step walks an index in id order
 * and stops at the page's LIMIT, so the cost follows the page, not the table.
 */
export class SqlSearchIndex implements SearchIndex {
  private readonly gramCounts: GramCounts;

  /** `reads`: where searches run (a SQLite reader thread, see DbHandle.openReader); writes use `db`. */
  constructor(
    private readonly db: Db,
    private readonly reads: Db = db,
  ) {
    this.gramCounts = new GramCounts(reads, COUNT_CAP);
  }

  async onChange(trx: Executor, change: IndexChange): Promise<void> {
    const [entity] = await loadEntities(trx, change.kind, [change.id]);
    await writeDocument(trx, kindCodes[change.kind], change.id, entity ? documentText(entity.fields) : null);
  }

  async searchUsers(word: string, page: PageWindow): Promise<PublicUser[]> {
    return (await this.matching<UserResult>('user', userResults, word, page)).map(toPublicUser);
  }

  async searchGroups(word: string, page: PageWindow): Promise<Group[]> {
    return (await this.matching<GroupResult>('group', groupResults, word, page)).map(toGroup);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async rebuild(progress: (message: string) => void): Promise<void> {
    for (const kind of ['user', 'group'] as const) {
      const total = await countEntities(this.db, kind);
      await clearKind(this.db, kindCodes[kind]);
      let done = 0;
      let after = 0;
      for (;;) {
        const batch = await entitiesAfter(this.db, kind, after, REBUILD_BATCH);
        if (batch.length === 0) break;
        await transact(this.db, (trx) => insertDocuments(trx, kindCodes[kind], batch.map((e) => ({ id: e.id, text: documentText(e.fields) }))));
        after = batch.at(-1)!.id;
        done += batch.length;
        progress(`sql index: ${kind}s ${done}/${total}`);
      }
    }
  }

  private async matching<R>(kind: IndexedKind, result: ResultTable, word: string, page: PageWindow): Promise<R[]> {
    const text = normalise(word);
    const length = [...text].length;
    const code = kindCodes[kind];
    if (length < 2) return [];
    if (length <= 3) return rowsWithGram<R>(this.reads, code, text, result, page.offset, page.limit);
    const grams = trigrams(text);
    const counts = await this.gramCounts.of(code, grams);
    if (counts.some((n) => n === 0)) return [];
    const ranked = grams.map((gram, i) => ({ gram, n: counts[i]! })).sort((a, b) => a.n - b.n);
    const probes = ranked.slice(1, 1 + PROBES).map((r) => r.gram);
    return rowsContaining<R>(this.reads, code, text, ranked[0]!.gram, probes, result, page.offset, page.limit);
  }
}
