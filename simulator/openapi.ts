import { SIZE_DEFAULT, SIZE_MAX } from '../sources/contract.js';

/** The OpenAPI document the real service publishes at /openapi.json (FastAPI, fastapi-pagination). */
export function openApiDocument(): object {
  const str = { type: 'string' };
  const int = { type: 'integer' };
  const model = (title: string, properties: Record<string, object>) => ({
    properties: Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, { ...s, title: titleOf(k) }])),
    type: 'object',
    required: Object.keys(properties),
    title,
  });
  const page = (item: string) => ({
    properties: {
      items: { items: { $ref: `#/components/schemas/${item}` }, type: 'array', title: 'Items' },
      total: { type: 'integer', minimum: 0, title: 'Total' },
      page: { type: 'integer', minimum: 1, title: 'Page' },
      size: { type: 'integer', minimum: 1, title: 'Size' },
      pages: { type: 'integer', minimum: 0, title: 'Pages' },
    },
    type: 'object',
    required: ['items', 'total', 'page', 'size', 'pages'],
    title: `Page[${item}]`,
  });
  const list = (path: string, summary: string, item: string) => ({
    get: {
      summary,
      operationId: `${path.slice(1)}_${path.slice(1)}_get`,
      parameters: [
        {
          name: 'page',
          in: 'query',
          required: false,
          schema: { type: 'integer', minimum: 1, description: 'Page number', default: 1, title: 'Page' },
          description: 'Page number',
        },
        {
          name: 'size',
          in: 'query',
          required: false,
          schema: { type: 'integer', maximum: SIZE_MAX, minimum: 1, description: 'Page size', default: SIZE_DEFAULT, title: 'Size' },
          description: 'Page size',
        },
      ],
      responses: {
        '200': { description: 'Successful Response', content: { 'application/json': { schema: { $ref: `#/components/schemas/Page_${item}_` } } } },
        '422': { description: 'Validation Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/HTTPValidationError' } } } },
      },
    },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'MooVitamix', version: '1.1' },
    paths: {
      '/tracks': list('/tracks', 'Tracks', 'Track'),
      '/users': list('/users', 'Users', 'User'),
      '/listen_history': list('/listen_history', 'Listen History', 'ListenHistory'),
    },
    components: {
      schemas: {
        Track: model('Track', { id: int, name: str, artist: str, songwriters: str, duration: str, genres: str, album: str, created_at: str, updated_at: str }),
        User: model('User', { id: int, first_name: str, last_name: str, email: str, gender: str, favorite_genres: str, created_at: str, updated_at: str }),
        ListenHistory: model('ListenHistory', {
          user_id: { anyOf: [int, { type: 'null' }] },
          items: { anyOf: [{ items: int, type: 'array' }, { type: 'null' }] },
          created_at: str,
          updated_at: str,
        }),
        Page_Track_: page('Track'),
        Page_User_: page('User'),
        Page_ListenHistory_: page('ListenHistory'),
        HTTPValidationError: {
          properties: { detail: { items: { $ref: '#/components/schemas/ValidationError' }, type: 'array', title: 'Detail' } },
          type: 'object',
          title: 'HTTPValidationError',
        },
        ValidationError: {
          properties: {
            loc: { items: { anyOf: [str, int] }, type: 'array', title: 'Location' },
            msg: { type: 'string', title: 'Message' },
            type: { type: 'string', title: 'Error Type' },
          },
          type: 'object',
          required: ['loc', 'msg', 'type'],
          title: 'ValidationError',
        },
      },
    },
  };
}

function titleOf(field: string): string {
  return field
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

export const SWAGGER_HTML = `<!DOCTYPE html>
<html>
<head>
<title>MooVitamix - Swagger UI</title>
</head>
<body>
<div id="swagger-ui"></div>
<p>Moovitamix simulator. The schema is at <a href="/openapi.json">/openapi.json</a>.</p>
</body>
</html>
`;
