import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_LIST } from '../contracts/searchAttributes.js';

/** The operator API of a Temporal connection (Connection and NativeConnection both have it). */
type OperatorService = Connection['operatorService'];

/** temporal.api.enums.v1.IndexedValueType: the numbers of Temporal's wire protocol. */
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 };
const typeName = (n: number) => Object.entries(INDEXED_VALUE_TYPE).find(([, v]) => v === n)?.[0] ?? `type ${n}`;

/** KEYWORD_LIST -> KeywordList: the type names the temporal CLI, its dev server and tcld take. */
export function typeLabel(type: string): string {
  return type
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** What a namespace lacks of the workflows' search attributes: missing, or registered with another type. */
export interface SearchAttributeGaps {
  missing: { name: string; type: SearchAttributeType }[];
  wrongType: { name: string; type: SearchAttributeType; registered: string }[];
}

export async function searchAttributeGaps(operator: OperatorService, namespace: string): Promise<SearchAttributeGaps> {
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  const registered = customAttributes ?? {};
  const gaps: SearchAttributeGaps = { missing: [], wrongType: [] };
  for (const { name, type } of SEARCH_ATTRIBUTE_LIST) {
    const has = registered[name];
    if (has === undefined || has === null) gaps.missing.push({ name, type });
    else if (Number(has) !== INDEXED_VALUE_TYPE[type]) gaps.wrongType.push({ name, type, registered: typeName(Number(has)) });
  }
  return gaps;
}

/**
 * Registers the workflows' search attributes in a namespace; those already there are left
 * alone, so it is safe to run again. Returns the names added and the names present.
 */
export async function registerSearchAttributes(operator: OperatorService, namespace: string): Promise<{ added: string[]; present: string[] }> {
  const gaps = await searchAttributeGaps(operator, namespace);
  if (gaps.wrongType.length > 0) throw new Error(describeGaps(gaps, namespace));
  if (gaps.missing.length > 0) {
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(gaps.missing.map(({ name, type }) => [name, INDEXED_VALUE_TYPE[type]])),
    });
  }
  const missing = new Set(gaps.missing.map((m) => m.name));
  return { added: [...missing], present: SEARCH_ATTRIBUTE_LIST.map((a) => a.name).filter((n) => !missing.has(n)) };
}

/** What is wrong, and the commands that put it right on a cluster and on Temporal Cloud. */
export function describeGaps(gaps: SearchAttributeGaps, namespace: string): string {
  const lines: string[] = [];
  if (gaps.missing.length > 0) {
    lines.push(
      `namespace ${namespace} lacks the search attributes the workflows set: ${gaps.missing.map((m) => `${m.name} (${typeLabel(m.type)})`).join(', ')}.`,
      'Register them with `moovitamix setup`, or with `temporal operator search-attribute create' +
        gaps.missing.map((m) => ` --name ${m.name} --type ${typeLabel(m.type)}`).join('') +
        ` --namespace ${namespace}\`; on Temporal Cloud: \`tcld namespace search-attributes add -n ${namespace}` +
        gaps.missing.map((m) => ` --sa "${m.name}=${typeLabel(m.type)}"`).join('') +
        '`.',
    );
  }
  for (const w of gaps.wrongType)
    lines.push(
      `search attribute ${w.name} is registered in ${namespace} with type ${w.registered}, where the workflows set a ${w.type}: remove it or use another namespace.`,
    );
  return lines.join(' ');
}
