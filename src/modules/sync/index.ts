export type { UserEventsTable, ReadCursorsTable } from './events.table.js';
export { recordUserEvent } from './events.repo.js';
