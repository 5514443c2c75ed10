import { Router } from 'express';
import { requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/index.js';
import { searchInput } from './search.schema.js';
import type { SearchService } from './search.service.js';

export function searchRoutes(search: SearchService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  router.post('/im/friend/search', auth, async (req, res) => {
    const input = parseInput(searchInput, req.body);
    sendOk(res, await search.users(input.word, input.page));
  });
  router.post('/im/group/search', auth, async (req, res) => {
    const input = parseInput(searchInput, req.body);
    sendOk(res, await search.groups(input.word, input.page));
  });
  return router;
}
