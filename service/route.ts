// What a route of the HTTP service is and answers: the server and every API module share it.

/** A route answers with a status and a JSON body (or raw text with a content type). */
export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

export interface Route {
  /** GET routes also answer HEAD. */
  method: 'GET' | 'POST';
  /** Matched against the whole path; named groups become `params`. */
  path: RegExp;
  /** POST: the body is JSON of at most this many bytes, read and parsed before `handle`. */
  maxBodyBytes?: number;
  handle(params: Record<string, string>, query: URLSearchParams, body?: unknown): Promise<Reply> | Reply;
}
