import { Cmd } from './cmd.js';

/**
 * What a client may declare in its sign-in (`Features` in Cmd 3) to get frames weIm-go's clients
 * never had. A socket that declares none gets exactly what it got before (weIm-go's Cmds and
 * weim's 15–26), so an old client never meets a frame it cannot read. Names the server does not
 * know are ignored (a newer client on an older server), and Cmd 4 lists the ones it accepted.
 */
export const Feature = {
  /** Cmd 28: a friend, or a member of a small group, is typing. */
  Typing: 'typing',
  /** Cmd 29: a message was edited (an event of its conversation's stream). */
  Edit: 'edit',
  /** Cmd 30: a reaction was put on a message or taken off (an event of its conversation's stream). */
  Reactions: 'reactions',
  /** Cmd 31: the owner or an admin named an admin, muted someone or everyone, handed the group over. */
  GroupEvents: 'group-events',
} as const;

/** The Cmds that belong to a feature: a socket that did not declare it never gets them, live or by sync. */
export const featureOfCmd: ReadonlyMap<number, FeatureName> = new Map<number, FeatureName>([
  [Cmd.TypingNotice, 'typing'],
  [Cmd.MessageEdited, 'edit'],
  [Cmd.ReactionChanged, 'reactions'],
  [Cmd.GroupEvent, 'group-events'],
]);
export type FeatureName = (typeof Feature)[keyof typeof Feature];

const KNOWN: ReadonlySet<string> = new Set(Object.values(Feature));

export const NO_FEATURES: ReadonlySet<FeatureName> = new Set();

/** Whether a socket that declared `features` is sent frames of `cmd` (no feature: every socket). */
export function servesCmd(features: ReadonlySet<string>, cmd: number): boolean {
  const feature = featureOfCmd.get(cmd);
  return feature === undefined || features.has(feature);
}

/** The declared features this server knows, in catalog order. */
export function acceptedFeatures(declared: readonly string[] | undefined): ReadonlySet<FeatureName> {
  if (!declared || declared.length === 0) return NO_FEATURES;
  const asked = new Set(declared);
  return new Set(Object.values(Feature).filter((f) => asked.has(f) && KNOWN.has(f)));
}
