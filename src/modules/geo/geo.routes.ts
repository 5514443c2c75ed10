import { Router } from 'express';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/index.js';
import { locationInput, nearbyInput } from './geo.schema.js';
import type { GeoService } from './geo.service.js';

export function geoRoutes(geo: GeoService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  const me = (req: unknown) => (req as AuthedRequest).auth.userId;
  router.post('/user/update/location', auth, async (req, res) => {
    const input = parseInput(locationInput, req.body);
    await geo.updateLocation(me(req), input.longitude, input.latitude);
    sendOk(res, {});
  });
  router.post('/geo/users', auth, async (req, res) => {
    const input = parseInput(nearbyInput, req.body);
    sendOk(res, await geo.nearby(me(req), { longitude: input.longitude, latitude: input.latitude, distanceKm: input.distance, page: input.page }));
  });
  return router;
}
