export { SearchService } from './search.service.js';
export { searchRoutes } from './search.routes.js';
