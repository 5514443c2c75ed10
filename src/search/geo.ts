/** Great-circle geometry on a sphere of the Earth's mean radius (the one Elasticsearch uses). */
export const EARTH_RADIUS_M = 6_371_008.7714;

const rad = (deg: number) => (deg * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;

/** Haversine distance in metres. */
export function distanceMetres(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = rad(lat2 - lat1);
  const dLon = rad(lon2 - lon1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** A latitude range and one or two longitude ranges (two where the box crosses ±180°). */
export interface BoundingBox {
  minLat: number;
  maxLat: number;
  lonRanges: Array<[number, number]>;
}

/**
 * The smallest latitude/longitude box holding every point within `radiusM` of (lat, lon). Near a
 * pole it spans all longitudes; across the antimeridian it splits in two.
 */
export function boundingBox(lat: number, lon: number, radiusM: number): BoundingBox {
  const angular = radiusM / EARTH_RADIUS_M;
  const minLat = lat - deg(angular);
  const maxLat = lat + deg(angular);
  if (minLat <= -90 || maxLat >= 90 || angular >= Math.PI / 2) {
    return { minLat: Math.max(-90, minLat), maxLat: Math.min(90, maxLat), lonRanges: [[-180, 180]] };
  }
  const ratio = Math.sin(angular) / Math.cos(rad(lat));
  if (!(ratio < 1)) return { minLat, maxLat, lonRanges: [[-180, 180]] };
  const dLon = deg(Math.asin(ratio));
  const west = lon - dLon;
  const east = lon + dLon;
  if (west < -180) return { minLat, maxLat, lonRanges: [[west + 360, 180], [-180, east]] };
  if (east > 180) return { minLat, maxLat, lonRanges: [[west, 180], [-180, east - 360]] };
  return { minLat, maxLat, lonRanges: [[west, east]] };
}
