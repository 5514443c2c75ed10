export { GeoService, type GeoOptions } from './geo.service.js';
export { geoRoutes } from './geo.routes.js';
