import type { Group } from '../groups/index.js';
import type { PublicUser } from '../users/index.js';
import type { SearchIndex } from '../../search/index.js';

/** User and group search through the configured index, a page at a time. */
export class SearchService {
  constructor(
    private readonly index: SearchIndex,
    private readonly pageSize: number,
  ) {}

  async users(word: string, page: number): Promise<{ list: PublicUser[]; page: number }> {
    return { list: await this.index.searchUsers(word, this.window(page)), page };
  }

  async groups(word: string, page: number): Promise<{ list: Group[]; page: number }> {
    return { list: await this.index.searchGroups(word, this.window(page)), page };
  }

  private window(page: number) {
    return { offset: (page - 1) * this.pageSize, limit: this.pageSize };
  }
}
