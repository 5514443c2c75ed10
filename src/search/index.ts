export type { SearchDocsTable, SearchGramsTable, SearchOutboxTable } from './search.table.js';
export type { IndexChange, IndexHook, NearbyIndex, NearbyQuery, NearbyUser, PageWindow, SearchIndex } from './search-index.js';
