/**
 * Sets `key` in a Map used as a bounded cache, as its newest entry: a Map keeps insertion order,
 * so its first key is the oldest, and that one goes when the map already holds `capacity` keys.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, capacity: number): void {
  map.delete(key);
  if (map.size >= capacity) map.delete(map.keys().next().value!);
  map.set(key, value);
}
