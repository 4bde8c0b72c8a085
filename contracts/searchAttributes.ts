import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/*
 * The custom Search Attributes the workflows set, for List Filters in the Temporal UI and
 * `temporal workflow list --query` (and `moovitamix runs --query`). The dev stack starts
 * its server with them; `moovitamix setup` registers them on a cluster. Names are
 * prefixed so that they never clash with another application's in a shared namespace.
 */
export const SEARCH_ATTRIBUTES = {
  /** A daily run's date (its logical day, midnight UTC). */
  runDate: defineSearchAttributeKey('MoovitamixRunDate', SearchAttributeType.DATETIME),
  /** A daily run: `running`, then `completed` or `failed` (the workflow's own status says the same for a crash). */
  status: defineSearchAttributeKey('MoovitamixStatus', SearchAttributeType.KEYWORD),
  /** A daily run's health: `pass`, `warn` or `fail`. */
  health: defineSearchAttributeKey('MoovitamixHealth', SearchAttributeType.KEYWORD),
  /** A daily run: whether it published recommendations (false: unchanged, skipped or failed). */
  published: defineSearchAttributeKey('MoovitamixPublished', SearchAttributeType.BOOL),
  /** A daily run: the model its recommendations come from; a retraining: the model it promoted. */
  model: defineSearchAttributeKey('MoovitamixModel', SearchAttributeType.KEYWORD),
  /** A retraining: `schedule`, `drift` or `manual`. */
  trigger: defineSearchAttributeKey('MoovitamixTrigger', SearchAttributeType.KEYWORD),
  /** A retraining: `promoted`, `canary` (a challenger is served to a share of users) or `kept`. */
  decision: defineSearchAttributeKey('MoovitamixDecision', SearchAttributeType.KEYWORD),
  /** A retraining: the family of the model it promoted (`als`, `item-knn`, ...). */
  promotedFamily: defineSearchAttributeKey('MoovitamixPromotedFamily', SearchAttributeType.KEYWORD),
} as const;

/** Each attribute's name and type, as `temporal server start-dev --search-attribute` and the operator API take them. */
export const SEARCH_ATTRIBUTE_LIST: readonly { name: string; type: SearchAttributeType }[] = Object.values(SEARCH_ATTRIBUTES);

/** The patch under which workflows set them: runs recorded before it replay without. */
export const SEARCH_ATTRIBUTES_PATCH = 'search-attributes';
